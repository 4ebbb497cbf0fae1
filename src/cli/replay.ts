import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { ErrorCode, UserError, isUserError } from '../core/errors.js';
import { parseKafkaUrl, type KafkaEndpoint } from '../kafka/endpoint.js';
import { parseKinesisUrl, type KinesisEndpoint } from '../kinesis/endpoint.js';
import { checkCapture, readCapture } from '../replay/capture-file.js';
import type { Pace } from '../replay/pacing.js';
import { replayCapture, type ReplaySummary } from '../replay/replay.js';
import { openKinesisTarget } from '../replay/kinesis-target.js';
import { openKafkaTarget } from '../replay/service.js';
import type { CliIo } from './common.js';
import type { ExecuteIo } from './execute.js';
import { handleShutdownSignals } from './signals.js';

/** Flags of `sluice replay`. */
export interface ReplayFlags {
  readonly from: string;
  readonly to: string;
  readonly speed?: string | undefined;
  readonly rate?: string | undefined;
  readonly loop?: boolean | undefined;
  readonly shutdownTimeout?: string | undefined;
}

/** `sluice replay`: produces a capture of `sluice record` into a Kafka topic or a Kinesis stream with its timing. */
export function replayCommand(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description('produce a capture of sluice record into a Kafka topic or a Kinesis stream: keys, values, partitions (shards) by key, original timing')
    .requiredOption('--from <file>', 'a capture written by sluice record (.gz too)')
    .requiredOption(
      '--to <url>',
      'kafka://BROKERS/TOPIC (the topic must exist); keyed records are partitioned by key, records without a key go to their captured partition number modulo the partition count; ' +
        'or kinesis://STREAM[?aggregate=true] (the stream must exist): the captured key is the partition key, records without one use their captured partition id; headers are not replayed',
    )
    .option(
      '--speed <x>',
      'captured timing sped up X times: 1 = original pace (default), 10 = ten times faster, 0 or max = as fast as possible; records without a timestamp (file and generator captures) are not held back',
    )
    .option('--rate <n>', 'N records per second, evenly spaced, instead of the captured timing')
    .option('--loop', 'start over at the end of the capture, until stopped')
    .option('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT: deliver what is due within this time', '25s')
    .action(async (flags: ReplayFlags) => {
      await runReplay(flags, io);
    });
}

/**
 * Runs `sluice replay`: checks the flags and the whole capture, connects to the topic or stream, then
 * produces until the capture ends (or, with `--loop`, until SIGTERM/SIGINT), and reports one
 * summary line.
 */
export async function runReplay(flags: ReplayFlags, io: ExecuteIo): Promise<ReplaySummary> {
  const pace = paceOf(flags);
  const endpoint = targetOf(flags.to);
  const shutdownMs = parseDuration(flags.shutdownTimeout ?? '25s', '--shutdown-timeout');
  await checkCapture(flags.from);
  const started = performance.now();
  const target = endpoint.kind === 'kafka' ? await openKafkaTarget(endpoint.endpoint) : await openKinesisTarget(endpoint.endpoint);
  const stop = new AbortController();
  const removeSignals = handleShutdownSignals({ stop, deadlineMs: shutdownMs, report: io.report, exit: io.exit ?? ((code: number) => process.exit(code)) });
  let summary: ReplaySummary;
  try {
    summary = await replayCapture({ capture: () => readCapture(flags.from), target, pace, loop: flags.loop === true, signal: stop.signal });
  } finally {
    removeSignals();
    await target.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const passes = flags.loop === true ? `, ${summary.passes} ${summary.passes === 1 ? 'pass' : 'passes'}` : '';
  const spread = 'partitions' in target ? `${target.partitions} partitions` : `${target.shards ?? '?'} shards`;
  io.report(`sluice replay: ${summary.records} records from ${flags.from} to ${endpoint.endpoint.url} (${spread}) in ${seconds} s${passes}`);
  return summary;
}

/** `--speed` or `--rate` as a pace; `--speed 1` when neither is given. */
export function paceOf(flags: Pick<ReplayFlags, 'speed' | 'rate'>): Pace {
  if (flags.speed !== undefined && flags.rate !== undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, '--speed and --rate exclude each other: --speed scales the captured timing, --rate replaces it');
  }
  if (flags.rate !== undefined) {
    const perSecond = Number(flags.rate);
    if (flags.rate.trim() === '' || !Number.isFinite(perSecond) || perSecond <= 0) {
      throw new UserError(ErrorCode.BAD_OPTION, `--rate must be a number of records per second > 0, got '${flags.rate}'`);
    }
    return { kind: 'rate', perSecond };
  }
  const speed = flags.speed ?? '1';
  if (speed === 'max') return { kind: 'max' };
  const factor = Number(speed);
  if (speed.trim() === '' || !Number.isFinite(factor) || factor < 0) {
    throw new UserError(ErrorCode.BAD_OPTION, `--speed must be a number ≥ 0 (1 = original pace) or max, got '${speed}'`);
  }
  return factor === 0 ? { kind: 'max' } : { kind: 'speed', factor };
}

/** Where `--to` points: a Kafka topic or a Kinesis stream. */
type ReplayEndpoint = { readonly kind: 'kafka'; readonly endpoint: KafkaEndpoint } | { readonly kind: 'kinesis'; readonly endpoint: KinesisEndpoint };

/** The `--to` endpoint; errors name `--to`, and parameters that mean nothing to a replay are refused. */
function targetOf(text: string): ReplayEndpoint {
  if (text.startsWith('kinesis://')) return { kind: 'kinesis', endpoint: kinesisTargetOf(text) };
  if (!text.startsWith('kafka://')) throw new UserError(ErrorCode.BAD_URL, `--to '${text}': replay produces into Kafka or Kinesis; write kafka://BROKER[,BROKER]/TOPIC or kinesis://STREAM`);
  let endpoint: KafkaEndpoint;
  try {
    endpoint = parseKafkaUrl(text, 'sink', process.env, '--to');
  } catch (err) {
    if (isUserError(err)) throw new UserError(err.code, err.message.replace(/^--sink /, '--to '), { cause: err });
    throw err;
  }
  for (const [name, value] of [['key', endpoint.key], ['group', endpoint.group]] as const) {
    if (value !== undefined) {
      throw new UserError(ErrorCode.BAD_URL, `--to '${endpoint.url}': a replay takes keys from the capture and joins no group; remove ${name}=`);
    }
  }
  return { kind: 'kafka', endpoint };
}

/** A `--to kinesis://` endpoint: partition keys come from the capture, so `key=` is refused. */
function kinesisTargetOf(text: string): KinesisEndpoint {
  const endpoint = parseKinesisUrl(text, 'sink', process.env, '--to');
  if (endpoint.key !== undefined) throw new UserError(ErrorCode.BAD_URL, `--to '${text}': a replay takes partition keys from the capture; remove key=`);
  return endpoint;
}
