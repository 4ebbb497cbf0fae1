/**
 * Reading a dead-letter output back (`sluice dlq replay`): the JSON Lines a `--dead-letter`
 * file holds, or a capture (`sluice record`) of a dead-letter Kafka topic, whose values are those
 * same entries. Each entry gives back the record it rejected: its original bytes, and its key
 * and Kafka partition when it came from Kafka.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { FileReader } from '../ingest/file/reader.js';
import type { CaptureRecord } from './capture-format.js';

/** The fields `sluice dlq replay` reads from a dead-letter entry. */
export interface DeadLetterEntry {
  readonly stage: string;
  readonly code: string;
  readonly reason: string;
  readonly partition: string;
  readonly position: Readonly<Record<string, unknown>>;
  readonly raw?: string | undefined;
  readonly key?: string | undefined;
}

const READ_BATCH = 1024;
const READ_CHUNK_BYTES = 1 << 20;

/**
 * The entries of a dead-letter file (`.gz` too), in order; a line that is neither an entry nor a
 * captured one is a UserError naming it, before anything is replayed if the caller checks first.
 *
 * @example for await (const entry of readDeadLetters('dead.jsonl')) console.log(entry.reason);
 */
export async function* readDeadLetters(path: string): AsyncGenerator<DeadLetterEntry> {
  const reader = new FileReader(path, { batchSize: READ_BATCH, chunkBytes: READ_CHUNK_BYTES });
  try {
    for (let batch = await reader.read(); batch !== null; batch = await reader.read()) {
      for (const env of batch) {
        const text = env.value as string;
        if (text.trim() === '') continue;
        yield entryOf(text, `'${path}' line ${String(env.position['line'])}`);
      }
    }
  } finally {
    await reader.close();
  }
}

/** One line as a dead-letter entry: the entry itself, or a capture record whose value is one. */
export function entryOf(line: string, where: string): DeadLetterEntry {
  const bad = (why: string): UserError =>
    new UserError(ErrorCode.UNREADABLE_INPUT, `${where} is not a dead-letter entry: ${why}; give --from a --dead-letter file, or a sluice record capture of a dead-letter topic`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('not a JSON object');
  let object = parsed as Record<string, unknown>;
  // a capture of a dead-letter topic: the entry is the captured value
  if (!('stage' in object) && 'value' in object && 'offset' in object && typeof object['value'] === 'string') return entryOf(object['value'], where);
  for (const field of ['stage', 'code', 'reason', 'partition'] as const) {
    if (typeof object[field] !== 'string') throw bad(`'${field}' is missing or not text`);
  }
  if (typeof object['position'] !== 'object' || object['position'] === null) throw bad("'position' is missing");
  if (object['raw'] !== undefined && typeof object['raw'] !== 'string') throw bad("'raw' is not text");
  if (object['key'] !== undefined && typeof object['key'] !== 'string') object = { ...object, key: undefined };
  return object as unknown as DeadLetterEntry;
}

/**
 * The record a dead-letter entry rejected, as a capture record `replay` can produce again;
 * undefined when the entry holds no input record (a result a sink refused, an entry without
 * bytes).
 */
export function rejectedRecord(entry: DeadLetterEntry): CaptureRecord | undefined {
  if (entry.raw === undefined || entry.stage.startsWith('sink ')) return undefined;
  const partition = entry.position['partition'];
  const offset = entry.position['offset'] ?? entry.position['line'] ?? null;
  return {
    partition: typeof partition === 'number' ? partition : entry.partition,
    offset: typeof offset === 'string' || typeof offset === 'number' ? offset : null,
    timestamp: null,
    key: entry.key ?? null,
    headers: {},
    value: entry.raw.startsWith('base64:') ? { base64: entry.raw.slice('base64:'.length) } : entry.raw,
  };
}
