/**
 * The on-disk form of a checkpoint, shared by every store: one JSON document
 * `{ "format": "sluice-checkpoint", "version": 1, "checksum": "sha256:…", "data": {…} }`.
 *
 * JSON has no ±Infinity or NaN, yet watermarks start at -Infinity and aggregates may hold NaN,
 * so those numbers travel as `{ "$number": "-Infinity" }`. -0 is written as 0: no operator
 * state distinguishes them, and JSON text cannot carry the sign without another escape.
 * The checksum covers the canonical text of `data` (sorted keys, no spaces, as RFC 8785), so a
 * reformatted but equal file still loads while a flipped byte does not.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, UserError } from '../core/errors.js';
import type { Checkpoint, PartitionCheckpoint } from './store.js';

const FORMAT = 'sluice-checkpoint';
const VERSION = 1;
const SPECIAL: ReadonlyMap<unknown, number> = new Map([['Infinity', Infinity], ['-Infinity', -Infinity], ['NaN', NaN]]);
const ENVELOPE_FIELDS = ['format', 'version', 'checksum', 'data'];
const CHECKPOINT_FIELDS = ['pipeline', 'checkpointId', 'createdAt', 'partitions', 'shared'];
const PARTITION_FIELDS = ['position', 'ended', 'operators'];

/**
 * What every bad-checkpoint message ends with: what the operator can do about it. Stores append
 * it to their own checks (another pipeline's checkpoint) so that all such messages agree.
 *
 * @example throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${path}' belongs to pipeline 'a', not 'b'${CHECKPOINT_ADVICE}`)
 * @see decodeCheckpoint
 */
export const CHECKPOINT_ADVICE = '; move it aside to restart from the previous checkpoint, or delete the checkpoint directory to start over';

type Fail = (problem: string) => never;
type Obj = Record<string, unknown>;

/**
 * The text a store writes for a checkpoint. Throws a plain `Error` naming the path when the
 * state is not plain data (undefined, a class instance, a cycle, an object with a `$number`
 * key): that is a bug in the operator that produced the snapshot.
 *
 * @example await writeFile(path, encodeCheckpoint(checkpoint))
 * @see decodeCheckpoint
 */
export function encodeCheckpoint(c: Checkpoint): string {
  const data = canonical(c, '', new Set(), true);
  return `{"format":"${FORMAT}","version":${VERSION},"checksum":"sha256:${sha256(data)}","data":${data}}\n`;
}

/**
 * The checkpoint in `text`, checked strictly: format, version, checksum and every field.
 * `source` names the file in messages. Throws `UserError(BAD_CHECKPOINT)` saying what is wrong
 * and what the operator can do about it.
 *
 * @example const checkpoint = decodeCheckpoint(await readFile(path, 'utf8'), path)
 * @see encodeCheckpoint
 */
export function decodeCheckpoint(text: string, source: string): Checkpoint {
  const say = (message: string): never => {
    throw new UserError(ErrorCode.BAD_CHECKPOINT, `checkpoint '${source}' ${message}${CHECKPOINT_ADVICE}`);
  };
  const fail: Fail = (problem) => say(`is corrupt: ${problem}`);
  if (text.trim() === '') return fail('the file is empty');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('not valid JSON (the file may be truncated)');
  }
  if (!isObject(doc) || doc.format !== FORMAT) return say(`is not a Sluice checkpoint: its format is not '${FORMAT}'`);
  // The version is checked before anything else it governs, checksum included, so that a newer
  // file reports its version rather than an unrelated-looking corruption.
  if (!Number.isSafeInteger(doc.version)) return fail('version must be an integer');
  if (doc.version !== VERSION) return say(`has format version ${String(doc.version)}; this Sluice reads version ${VERSION}`);
  onlyFields(doc, ENVELOPE_FIELDS, '', fail);
  if (typeof doc.checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(doc.checksum)) {
    return fail("checksum must be 'sha256:' followed by 64 lowercase hex digits");
  }
  if (`sha256:${sha256(canonical(doc.data, 'data', new Set(), false))}` !== doc.checksum) return fail('checksum mismatch');
  return checkpointOf(revive(doc.data, '', fail), fail);
}

/** Canonical JSON of plain data; `encoding` rejects what the decoder would misread. */
function canonical(value: unknown, path: string, ancestors: Set<object>, encoding: boolean): string {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : `{"$number":"${String(value)}"}`;
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      break;
    default:
      return notPlain(path, `is ${typeof value}`);
  }
  if (ancestors.has(value)) return notPlain(path, 'refers back to itself');
  ancestors.add(value);
  let text: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) items.push(canonical(value[i], `${path}[${i}]`, ancestors, encoding));
    text = `[${items.join(',')}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return notPlain(path, 'is not a plain object');
    const obj = value as Obj;
    if (encoding && Object.hasOwn(obj, '$number')) return notPlain(path, "has a '$number' key, which the checkpoint format reserves");
    // Default sort compares UTF-16 code units, as RFC 8785 does.
    const keys = Object.keys(obj).sort();
    text = `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k], child(path, k), ancestors, encoding)}`).join(',')}}`;
  }
  ancestors.delete(value);
  return text;
}

function notPlain(path: string, problem: string): never {
  throw new Error(`cannot encode checkpoint: ${path === '' ? 'the checkpoint' : path} ${problem}; checkpoint state must be plain data`);
}

/** Parsed JSON with `$number` objects turned back into numbers, in place. */
function revive(value: unknown, path: string, fail: Fail): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], `${path}[${i}]`, fail);
    return value;
  }
  const obj = value as Obj;
  if (Object.hasOwn(obj, '$number')) {
    const special = Object.keys(obj).length === 1 ? SPECIAL.get(obj.$number) : undefined;
    return special ?? fail(`${path === '' ? 'data' : path} must be {"$number": "Infinity" | "-Infinity" | "NaN"}`);
  }
  // Assigning to an own property, even one named __proto__, never touches the prototype.
  for (const k of Object.keys(obj)) obj[k] = revive(obj[k], child(path, k), fail);
  return obj;
}

function checkpointOf(data: unknown, fail: Fail): Checkpoint {
  if (!isObject(data)) return fail('data must be an object');
  onlyFields(data, CHECKPOINT_FIELDS, '', fail);
  const { pipeline, checkpointId, createdAt, partitions, shared } = data;
  if (typeof pipeline !== 'string') return fail('pipeline must be a string');
  if (!Number.isSafeInteger(checkpointId) || (checkpointId as number) < 0) return fail('checkpointId must be a non-negative integer');
  if (typeof createdAt !== 'string') return fail('createdAt must be a string');
  if (!isObject(partitions)) return fail('partitions must be an object');
  for (const [id, p] of Object.entries(partitions)) partitionOf(p, child('partitions', id), fail);
  if (!isObject(shared)) return fail('shared must be an object');
  return { pipeline, checkpointId: checkpointId as number, createdAt, partitions: partitions as Record<string, PartitionCheckpoint>, shared };
}

function partitionOf(p: unknown, path: string, fail: Fail): void {
  if (!isObject(p)) return fail(`${path} must be an object`);
  onlyFields(p, PARTITION_FIELDS, path, fail);
  if (p.position !== null && !isObject(p.position)) return fail(`${path}.position must be an object or null`);
  for (const [k, v] of Object.entries(p.position ?? {})) {
    if (typeof v !== 'string' && typeof v !== 'number') return fail(`${child(`${path}.position`, k)} must be a string or a number`);
  }
  if (typeof p.ended !== 'boolean') return fail(`${path}.ended must be a boolean`);
  if (!isObject(p.operators)) return fail(`${path}.operators must be an object`);
}

function onlyFields(obj: Obj, fields: readonly string[], path: string, fail: Fail): void {
  const extra = Object.keys(obj).find((k) => !fields.includes(k));
  if (extra !== undefined) fail(`${child(path, extra)} is not a checkpoint field`);
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `a.b` for simple keys, `a["x/y.jsonl"]` for keys a reader could not tell apart from a path. */
function child(path: string, key: string): string {
  if (!/^[\w$-]+$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
