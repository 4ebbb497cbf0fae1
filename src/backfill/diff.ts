/**
 * Result-set comparison for backfill parity (`sluice diff A B`): each side is reduced to one
 * result per `id`, the highest `revision` (a window's final state), so order and duplicate
 * identical emissions (re-emissions after a restart) do not matter. Windows the backfill marked
 * as range edges are reported apart and never fail the comparison.
 *
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { glob, isDynamicPattern } from 'tinyglobby';
import { awsClientSettings, awsEndpointUrl, regionOf } from '../aws/config.js';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import { parseS3Url, type S3Service } from '../ingest/s3/index.js';
import type { S3ServiceFactory } from './input.js';

/** A window result as written by a sink: at least `id` and `revision`. */
export type ResultRecord = Readonly<Record<string, unknown>> & { readonly id: string; readonly revision: number };

/** One side of a comparison: the final result of each id, and the range edges recorded beside it. */
export interface ResultSet {
  readonly results: ReadonlyMap<string, ResultRecord>;
  /** Two different results with the same id and revision: the input is not one run's output. */
  readonly conflicts: number;
  /** Backfill ranges found in `*.range.json` sidecars (see {@link RANGE_SIDECAR_SUFFIX}). */
  readonly ranges: readonly BackfillRange[];
}

/** The event-time range a backfill read, `[start, end)` in epoch ms; either end may be open. */
export interface BackfillRange {
  readonly start: number | null;
  readonly end: number | null;
}

/** A backfill writing results to `PATH` records its range in `PATH` + this suffix. */
export const RANGE_SIDECAR_SUFFIX = '.range.json';

/** What {@link diffResults} found. */
export interface DiffReport {
  /** Ids in A but not in B. */
  readonly missing: readonly ResultRecord[];
  /** Ids in B but not in A. */
  readonly extra: readonly ResultRecord[];
  readonly different: readonly { readonly a: ResultRecord; readonly b: ResultRecord }[];
  /** Missing, extra or different results whose window straddles or lies outside a range edge. */
  readonly edges: readonly { readonly kind: 'missing' | 'extra' | 'different'; readonly id: string }[];
  /**
   * Different results of which one side was re-fired for late events (revision > 0): a live run
   * saw those events late, a backfill in order. Reported apart, not a failure.
   */
  readonly late: readonly { readonly a: ResultRecord; readonly b: ResultRecord }[];
  readonly same: number;
  readonly matches: boolean;
}

/** Reduces result records to the highest revision per id. */
export function finalResults(records: Iterable<unknown>, origin = 'input'): { results: Map<string, ResultRecord>; conflicts: number } {
  const results = new Map<string, ResultRecord>();
  let conflicts = 0;
  let n = 0;
  for (const record of records) {
    n++;
    if (typeof record !== 'object' || record === null || typeof (record as { id?: unknown }).id !== 'string') {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `${origin}: record ${n} has no string 'id'; sluice diff compares window results`);
    }
    const result = record as Record<string, unknown>;
    const revision = typeof result['revision'] === 'number' ? result['revision'] : 0;
    const typed = { ...result, revision } as ResultRecord;
    const held = results.get(typed.id);
    if (held === undefined || held.revision < revision) results.set(typed.id, typed);
    else if (held.revision === revision && canonical(held) !== canonical(typed)) conflicts++;
  }
  return { results, conflicts };
}

/**
 * Compares A (the reference, e.g. the live run) with B (e.g. the backfill). A result whose
 * window is not inside one of `ranges` is an edge window: reported, never a failure.
 */
export function diffResults(a: ReadonlyMap<string, ResultRecord>, b: ReadonlyMap<string, ResultRecord>, ranges: readonly BackfillRange[] = []): DiffReport {
  const missing: ResultRecord[] = [];
  const extra: ResultRecord[] = [];
  const different: { a: ResultRecord; b: ResultRecord }[] = [];
  const edges: { kind: 'missing' | 'extra' | 'different'; id: string }[] = [];
  const late: { a: ResultRecord; b: ResultRecord }[] = [];
  let same = 0;
  const atEdge = (r: ResultRecord): boolean => ranges.length > 0 && !ranges.some((range) => insideRange(r, range));
  for (const [id, ra] of a) {
    const rb = b.get(id);
    if (rb === undefined) {
      if (atEdge(ra)) edges.push({ kind: 'missing', id });
      else missing.push(ra);
    } else if (canonical(ra) === canonical(rb)) same++;
    else if (atEdge(ra) || atEdge(rb)) edges.push({ kind: 'different', id });
    else if (ra.revision > 0 || rb.revision > 0) late.push({ a: ra, b: rb });
    else different.push({ a: ra, b: rb });
  }
  for (const [id, rb] of b) {
    if (a.has(id)) continue;
    if (atEdge(rb)) edges.push({ kind: 'extra', id });
    else extra.push(rb);
  }
  return { missing, extra, different, edges, late, same, matches: missing.length === 0 && extra.length === 0 && different.length === 0 };
}

/** True when the result's window `[windowStart, windowEnd)` lies inside the range. */
export function insideRange(result: ResultRecord, range: BackfillRange): boolean {
  const start = result['windowStart'];
  const end = result['windowEnd'];
  if (typeof start !== 'number' || typeof end !== 'number') return true;
  return (range.start === null || start >= range.start) && (range.end === null || end <= range.end);
}

/** JSON with keys sorted, so field order does not count as a difference. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

/** Where {@link loadResultSet} gets an S3 client from; injected so the network stays in `src/ingest/s3/service.ts`. */
export interface LoadOptions {
  /** Makes the S3 service for `s3://` locations; without it an `s3://` location is refused. */
  readonly s3?: S3ServiceFactory;
}

/**
 * Loads one side: a JSON Lines file (plain or gzip, detected by content), a directory (every
 * file in it, recursively, except sidecars), a glob, or `s3://BUCKET/PREFIX` (every object under
 * the prefix: what a Firehose sink delivered, plain or gzip).
 *
 * @example await loadResultSet('s3://results/live/', { s3: s3Service }) // { results, conflicts: 0, ranges: [] }
 * @see diffResults
 */
export async function loadResultSet(location: string, options: LoadOptions = {}): Promise<ResultSet> {
  const records: unknown[] = [];
  const ranges: BackfillRange[] = [];
  for await (const { name, bytes } of location.startsWith('s3:') ? s3Objects(location, options.s3) : fileContents(location)) {
    if (name.endsWith(RANGE_SIDECAR_SUFFIX)) {
      ranges.push(parseRange(name, bytes.toString('utf8')));
    } else {
      for (const record of jsonLines(name, bytes)) records.push(record);
    }
  }
  const { results, conflicts } = finalResults(records, location);
  return { results, conflicts, ranges };
}

/** One stored result file or object, its bytes as stored (maybe gzip); sidecars too. */
interface Stored {
  readonly name: string;
  readonly bytes: Buffer;
}

async function* fileContents(location: string): AsyncGenerator<Stored> {
  for (const file of await resultFiles(location)) {
    yield { name: file, bytes: await readStored(file, () => readFile(file)) };
    const sidecar = await readFile(file + RANGE_SIDECAR_SUFFIX).catch(() => undefined);
    if (sidecar !== undefined) yield { name: file + RANGE_SIDECAR_SUFFIX, bytes: sidecar };
  }
}

/** Every object under the prefix, in key order; sidecars (`*.range.json`) among them give ranges. */
async function* s3Objects(location: string, factory: S3ServiceFactory | undefined): AsyncGenerator<Stored> {
  const { bucket, prefix } = parseS3Url(location, 'sluice diff');
  if (factory === undefined) throw new UserError(ErrorCode.BAD_URL, `'${location}': this build of sluice diff cannot read S3`);
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_OPTION, `'${location}': ${why}`);
  const service: S3Service = factory(awsClientSettings('sluice diff', regionOf(null, process.env, bad), awsEndpointUrl('sluice diff', {}), {}));
  const url = (key: string): string => `s3://${bucket}/${key}`;
  try {
    const objects = await readStored(location, () => service.list(bucket, prefix));
    if (objects.length === 0) throw new UserError(ErrorCode.UNREADABLE_INPUT, `no objects under '${location}'`);
    for (const object of objects) yield { name: url(object.key), bytes: await readStored(url(object.key), () => service.get(bucket, object.key)) };
  } finally {
    service.close();
  }
}

/** Reads bytes (gunzipped when they say gzip) or a listing; any failure becomes one line naming `what`. */
async function readStored<T extends Buffer | readonly unknown[]>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    const value = await read();
    return (Buffer.isBuffer(value) && value.length >= 2 && value[0] === 0x1f && value[1] === 0x8b ? gunzipSync(value) : value) as T;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${what}': ${messageOf(err).split('\n')[0] ?? 'unknown error'}`, { cause: err });
  }
}

function jsonLines(name: string, bytes: Buffer): unknown[] {
  const records: unknown[] = [];
  let line = 0;
  for (const text of bytes.toString('utf8').split('\n')) {
    line++;
    if (text.trim() === '') continue;
    try {
      records.push(JSON.parse(text));
    } catch {
      throw new UserError(ErrorCode.UNREADABLE_INPUT, `'${name}' line ${line} is not JSON; sluice diff compares JSON Lines result files`);
    }
  }
  return records;
}

async function resultFiles(location: string): Promise<string[]> {
  if (isDynamicPattern(location)) {
    const files = (await glob(location, { onlyFiles: true, expandDirectories: false })).filter((f) => !f.endsWith(RANGE_SIDECAR_SUFFIX)).sort();
    if (files.length === 0) throw new UserError(ErrorCode.UNREADABLE_INPUT, `no files match the glob '${location}'`);
    return files;
  }
  let info;
  try {
    info = await stat(location);
  } catch {
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot read '${location}': no such file or directory`);
  }
  if (!info.isDirectory()) return [location];
  const entries = await readdir(location, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.endsWith(RANGE_SIDECAR_SUFFIX))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function parseRange(name: string, text: string): BackfillRange {
  let parsed: { start?: unknown; end?: unknown };
  try {
    parsed = JSON.parse(text) as { start?: unknown; end?: unknown };
  } catch {
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `'${name}' is not JSON; a range sidecar is {"start":…,"end":…}`);
  }
  const time = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return { start: time(parsed.start), end: time(parsed.end) };
}

/** The report as lines: counts, a few examples of each kind, then the edge windows. */
export function formatDiff(report: DiffReport, options: { examples?: number } = {}): string[] {
  const n = options.examples ?? 3;
  const lines: string[] = [];
  lines.push(
    `${report.same} same, ${report.missing.length} missing from B, ${report.extra.length} extra in B, ${report.different.length} different, ${report.edges.length} at range edges, ${report.late.length} re-fired late`,
  );
  const show = (title: string, items: readonly unknown[], render: (item: never) => string): void => {
    if (items.length === 0) return;
    lines.push(`${title} (${items.length}):`);
    for (const item of items.slice(0, n)) lines.push(`  ${render(item as never)}`);
    if (items.length > n) lines.push(`  … and ${items.length - n} more`);
  };
  show('missing from B', report.missing, (r: ResultRecord) => JSON.stringify(r));
  show('extra in B', report.extra, (r: ResultRecord) => JSON.stringify(r));
  show('different', report.different, (d: { a: ResultRecord; b: ResultRecord }) => `${d.a.id}: A ${JSON.stringify(fieldsThatDiffer(d.a, d.b))} B ${JSON.stringify(fieldsThatDiffer(d.b, d.a))}`);
  show('re-fired late (a side has revision > 0: events one run saw late and the other in order; not a failure)', report.late, (d: { a: ResultRecord; b: ResultRecord }) => `${d.a.id}: A ${JSON.stringify(fieldsThatDiffer(d.a, d.b))} B ${JSON.stringify(fieldsThatDiffer(d.b, d.a))}`);
  show('range edges (windows straddling the backfill range; expected to differ, not a failure)', report.edges, (e: { kind: string; id: string }) => `${e.kind} ${e.id}`);
  lines.push(report.matches ? 'result sets match' : 'result sets differ');
  return lines;
}

function fieldsThatDiffer(x: ResultRecord, y: ResultRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) if (canonical(v) !== canonical(y[k])) out[k] = v;
  return out;
}
