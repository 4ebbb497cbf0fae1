import type { Command } from 'commander';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCode, UserError } from '../core/errors.js';
import { describeFsError } from '../ingest/file/fs-errors.js';
import { parseKafkaUrl } from '../kafka/endpoint.js';
import type { CaptureRecord } from '../replay/capture-format.js';
import { valueBytes } from '../replay/capture-format.js';
import { readDeadLetters, rejectedRecord, type DeadLetterEntry } from '../replay/dead-letters.js';
import { replayCapture, type ReplayTarget } from '../replay/replay.js';
import { openKafkaTarget } from '../replay/service.js';
import type { CliIo } from './common.js';

/** Flags of `sluice dlq replay`. */
export interface DlqReplayFlags {
  readonly from: string;
  readonly to: string;
  readonly stage?: string | undefined;
  readonly code?: string | undefined;
}

/** What `sluice dlq replay` did. */
export interface DlqReplaySummary {
  readonly entries: number;
  readonly replayed: number;
  /** Entries left out by `--stage` / `--code`. */
  readonly filtered: number;
  /** Entries without an input record to give back (results a sink refused, entries without bytes). */
  readonly notInput: number;
}

/** `sluice dlq replay`: gives dead-lettered records back to the input after a fix. */
export function dlqCommand(program: Command, io: CliIo): void {
  const dlq = program.command('dlq').description('work with dead-letter outputs');
  dlq
    .command('replay')
    .description('re-inject the records of a dead-letter output (their original bytes, keys and partitions) after a fix')
    .requiredOption('--from <path>', 'a --dead-letter file (.gz too), or a sluice record capture of a dead-letter Kafka topic')
    .requiredOption('--to <url>', 'kafka://BROKERS/TOPIC (the input topic: keyed records go by key, others to their partition) or file:PATH (one record per line)')
    .option('--stage <names>', 'only entries from these stages, comma-separated (parse-json, watermarks, window, predict …)')
    .option('--code <codes>', 'only entries with these error codes, comma-separated (PARSE_ERROR, BAD_FIELD, PREDICTION_FAILED …)')
    .action(async (flags: DlqReplayFlags) => {
      await runDlqReplay(flags, io);
    });
  for (const command of dlq.commands) command.exitOverride();
}

/**
 * Runs `sluice dlq replay`: reads the whole dead-letter file first (a corrupt one is refused
 * before anything is produced), then writes the selected records, in order, and reports one line.
 */
export async function runDlqReplay(flags: DlqReplayFlags, io: CliIo): Promise<DlqReplaySummary> {
  const stages = listOf(flags.stage);
  const codes = listOf(flags.code);
  const open = targetOf(flags.to);
  const selected: CaptureRecord[] = [];
  let entries = 0;
  let filtered = 0;
  let notInput = 0;
  for await (const entry of readDeadLetters(flags.from)) {
    entries++;
    if (!wanted(entry, stages, codes)) {
      filtered++;
      continue;
    }
    const record = rejectedRecord(entry);
    if (record === undefined) notInput++;
    else selected.push(record);
  }
  const started = performance.now();
  const target = await open();
  try {
    await replayCapture({ capture: () => iterate(selected), target, pace: { kind: 'max' } });
  } finally {
    await target.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const skipped = [filtered > 0 ? `${filtered} left out by --stage/--code` : '', notInput > 0 ? `${notInput} without an input record (results a sink refused)` : '']
    .filter(Boolean)
    .join(', ');
  io.report(`sluice dlq replay: ${selected.length} of ${entries} records from ${flags.from} to ${flags.to} in ${seconds} s${skipped === '' ? '' : `; ${skipped}`}`);
  return { entries, replayed: selected.length, filtered, notInput };
}

function listOf(text: string | undefined): Set<string> | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UserError(ErrorCode.BAD_OPTION, `expected a comma-separated list, got '${text}'`);
  return new Set(items);
}

function wanted(entry: DeadLetterEntry, stages: Set<string> | undefined, codes: Set<string> | undefined): boolean {
  return (stages === undefined || stages.has(entry.stage)) && (codes === undefined || codes.has(entry.code));
}

async function* iterate(records: readonly CaptureRecord[]): AsyncGenerator<CaptureRecord> {
  yield* records;
}

type Target = ReplayTarget & { close(): Promise<void> };

/** Opens `--to` later (after the whole input was read); checks the URL now. */
function targetOf(text: string): () => Promise<Target> {
  if (text.startsWith('kafka://')) {
    const endpoint = parseKafkaUrl(text, 'sink', process.env, '--to');
    if (endpoint.key !== undefined) throw new UserError(ErrorCode.BAD_URL, `--to '${endpoint.url}': records keep the keys they had; remove key=`);
    return () => openKafkaTarget(endpoint);
  }
  if (text.startsWith('file:')) {
    const path = text.slice('file:'.length);
    if (path === '') throw new UserError(ErrorCode.BAD_URL, `--to '${text}': write file:PATH`);
    return () => fileTarget(path);
  }
  throw new UserError(ErrorCode.BAD_URL, `--to '${text}': write kafka://BROKERS/TOPIC or file:PATH`);
}

/** Records as lines of a file: each record's bytes, then a newline; never overwrites a file. */
async function fileTarget(path: string): Promise<Target> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${path}': ${describeFsError(err)}`, { cause: err });
  }
  return {
    async send(records) {
      const parts: Buffer[] = [];
      for (const record of records) {
        const bytes = valueBytes(record.value);
        if (bytes !== null) parts.push(bytes, NEWLINE);
      }
      try {
        await handle.write(Buffer.concat(parts));
      } catch (err) {
        throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write '${path}': ${describeFsError(err)}`, { cause: err });
      }
    },
    async close() {
      await handle.close();
    },
  };
}

const NEWLINE = Buffer.from('\n');
