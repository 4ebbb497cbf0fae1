import type { Sink, Source } from '../core/connectors.js';
import { ErrorCode, UserError } from '../core/errors.js';
import { fileSource } from '../ingest/file/index.js';
import { kafkaSource } from '../ingest/kafka/index.js';
import { kinesisSource } from '../ingest/kinesis/index.js';
import { kclSource } from '../ingest/kinesis/kcl/supervisor.js';
import { parseKinesisUrl } from '../kinesis/endpoint.js';
import { parseKafkaUrl } from '../kafka/endpoint.js';
import { generatorSource, WORKLOADS, type GeneratorOptions } from '../ingest/generator/index.js';
import { openFileSink } from '../sinks/file/index.js';
import { openKafkaSink } from '../sinks/kafka/index.js';
import { openInfluxSink, parseInfluxUrl } from '../sinks/influxdb/index.js';
import { openFirehoseSink } from '../sinks/firehose/index.js';
import { openKinesisSink } from '../sinks/kinesis/index.js';
import { parseFirehoseUrl } from '../sinks/firehose/config.js';
import { openTimestreamSink } from '../sinks/timestream/index.js';
import { parseTimestreamUrl } from '../sinks/timestream/config.js';
import { openOpenSearchSink, parseOpenSearchUrl } from '../sinks/opensearch/index.js';
import { stderrSink, stdoutSink } from '../sinks/stdout/index.js';
import { fileCheckpointStore } from '../checkpoint/stores/file.js';
import { groupFileCheckpointStore } from '../checkpoint/stores/group-file.js';
import { fileJournals } from '../checkpoint/journal.js';
import { join } from 'node:path';
import type { CheckpointStore } from '../checkpoint/store.js';
import { parseDuration } from '../core/duration.js';

/** A source or sink address as written on the command line: `scheme:rest`. */
export interface EndpointUrl {
  readonly scheme: string;
  readonly rest: string;
}

const SOURCES = 'file:PATH_OR_GLOB, kafka://BROKERS/TOPIC?group=G, kinesis://STREAM[?app=NAME], generator:clickstream|telemetry[?rate=N&partitions=N&events=N&seed=N]';

/** Query parameters of `generator:` URLs, and the option each sets. */
const GENERATOR_PARAMS = {
  seed: 'seed',
  partitions: 'partitions',
  rate: 'rate',
  events: 'events',
  'batch-size': 'batchSize',
  'out-of-order-fraction': 'outOfOrderFraction',
  'max-delay': 'maxDelay',
  'late-fraction': 'lateFraction',
  'anomaly-rate': 'anomalyRate',
} as const satisfies Record<string, keyof GeneratorOptions>;

/** `generator:WORKLOAD?param=value&…` as generator options. */
export function generatorOptions(text: string, rest: string): GeneratorOptions {
  const [workload = '', query = ''] = rest.split('?', 2);
  if (!(WORKLOADS as readonly string[]).includes(workload)) {
    throw new UserError(ErrorCode.BAD_URL, `--source '${text}': unknown generator workload '${workload}'; use ${WORKLOADS.join(' or ')}`);
  }
  const options: Record<string, unknown> = { workload };
  for (const [name, value] of new URLSearchParams(query)) {
    const option = (GENERATOR_PARAMS as Record<string, string>)[name];
    if (option === undefined) {
      throw new UserError(ErrorCode.BAD_URL, `--source '${text}': unknown parameter '${name}'; use ${Object.keys(GENERATOR_PARAMS).join(', ')}`);
    }
    const number = name === 'max-delay' && /[a-z]$/.test(value) ? parseDuration(value, 'max-delay') : Number(value);
    if (value === '' || !Number.isFinite(number)) throw new UserError(ErrorCode.BAD_URL, `--source '${text}': ${name} must be a number, got '${value}'`);
    options[option] = number;
  }
  return options as unknown as GeneratorOptions;
}
const SINKS =
  'file:PATH, kafka://BROKERS/TOPIC[?key=FIELD], firehose://STREAM, kinesis://STREAM[?key=FIELD&aggregate=true], timestream://DATABASE/TABLE, opensearch://HOST:PORT/INDEX, influxdb://HOST:PORT/BUCKET, stdout: or stderr:';
const DLQ_SCHEMES = ['file:', 'kafka://', 'firehose://', 'stdout:', 'stderr:'];

/** Splits `scheme:rest`, with a message that names the flag when it is not a URL. */
export function parseEndpoint(text: string, flag: string): EndpointUrl {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(text);
  if (!m || (m[1] as string).length < 2) {
    throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}' is not a URL; write it as scheme:address, for example file:${text === '' ? 'events.jsonl' : text}`);
  }
  return { scheme: (m[1] as string).toLowerCase(), rest: m[2] as string };
}

/** `file:x`, `file://x` and `file:///abs/x` all name a path. */
function filePath(url: EndpointUrl, text: string, flag: string): string {
  const path = url.rest.startsWith('//') ? url.rest.slice(2) : url.rest;
  if (path === '') throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}' has no path; write file:PATH`);
  return path;
}

/** Builds the source a `--source` URL names; nothing is read until the run opens it. */
export function sourceFor(text: string, options: { batchSize?: number | undefined }): Source {
  const url = parseEndpoint(text, '--source');
  switch (url.scheme) {
    case 'file':
      return fileSource({ path: filePath(url, text, '--source'), ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) });
    case 'generator':
      return generatorSource({ ...generatorOptions(text, url.rest), ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) });
    case 'kafka':
      return kafkaSource(parseKafkaUrl(text, 'source'));
    case 'kinesis': {
      const endpoint = parseKinesisUrl(text, 'source');
      // KCL mode runs under the MultiLangDaemon, started by `sluice run` itself
      if (endpoint.coordinator === 'kcl') return kclSource(endpoint);
      return kinesisSource(endpoint, options.batchSize === undefined ? {} : { batchSize: options.batchSize });
    }
    default:
      throw new UserError(ErrorCode.BAD_URL, `--source '${text}': unsupported scheme '${url.scheme}:'; supported: ${SOURCES}`);
  }
}

/**
 * Resolves a sink URL (`--sink`, `--dead-letter`, `--late`) to a function that opens it. URLs are
 * checked here, synchronously, so a typo in any of them fails before any file is created.
 */
export function sinkOpener(text: string, flag = '--sink', options: { resume?: boolean; pipeline?: string } = {}): () => Promise<Sink> {
  // `dlq:URL` names a dead-letter output explicitly: a file, Kafka, or S3 through Firehose
  if (text.startsWith('dlq:')) {
    const inner = text.slice('dlq:'.length);
    if (flag !== '--dead-letter' || !DLQ_SCHEMES.some((scheme) => inner.startsWith(scheme))) {
      throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}': dlq: wraps a dead-letter output (--dead-letter dlq:file:PATH, dlq:kafka://BROKERS/TOPIC or dlq:firehose://STREAM)`);
    }
    return sinkOpener(inner, flag, options);
  }
  const url = parseEndpoint(text, flag);
  switch (url.scheme) {
    case 'file': {
      const path = filePath(url, text, flag);
      // a checkpointed run keeps the file and cuts it back to the checkpoint's length itself
      return () => openFileSink({ path, append: options.resume === true });
    }
    case 'stdout':
    case 'stderr':
      if (url.rest !== '') throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}': ${url.scheme}: takes no address; write ${url.scheme}:`);
      return async () => (url.scheme === 'stdout' ? stdoutSink() : stderrSink());
    case 'kafka': {
      // Kafka cannot rewind: a resumed run re-emits results with the same ids instead
      const endpoint = parseKafkaUrl(text, 'sink', process.env, flag);
      return () => openKafkaSink(endpoint);
    }
    case 'firehose': {
      // newline-delimited JSON into S3 (or Redshift); results carry ids for deduplication there
      const endpoint = parseFirehoseUrl(text, flag);
      return () => openFirehoseSink(endpoint);
    }
    case 'kinesis': {
      // partition key = the result's key (or ?key=): each key's results reach one shard in order
      const endpoint = parseKinesisUrl(text, 'sink', process.env, flag);
      return () => openKinesisSink(endpoint);
    }
    case 'timestream': {
      // Version = revision + 1: a re-emitted result upserts its record
      const endpoint = parseTimestreamUrl(text, flag);
      return () => openTimestreamSink(endpoint);
    }
    case 'opensearch': {
      // _id = result id: a re-emitted result overwrites its document
      const endpoint = parseOpenSearchUrl(text, flag);
      return () => openOpenSearchSink(endpoint);
    }
    case 'influxdb': {
      // a point per result, upserted by (measurement, tags, time): re-emissions overwrite
      const endpoint = parseInfluxUrl(text, flag);
      return () => openInfluxSink(endpoint, options.pipeline === undefined ? {} : { measurement: options.pipeline });
    }
    default:
      throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}': unsupported scheme '${url.scheme}:'; supported: ${SINKS}`);
  }
}

/** The checkpoint store a `--checkpoint` URL names: `file:DIR` for now. */
export function checkpointStoreFor(text: string, pipeline: string, options: { shared: boolean }): CheckpointStore {
  return options.shared ? groupFileCheckpointStore({ dir: checkpointDir(text), pipeline }) : fileCheckpointStore({ dir: checkpointDir(text), pipeline });
}

/** The directory of `--checkpoint file:DIR` (the only kind there is so far). */
export function checkpointDir(text: string): string {
  const url = parseEndpoint(text, '--checkpoint');
  switch (url.scheme) {
    case 'file': {
      // a consumer group's partitions move between workers: one file per partition, leased
      return filePath(url, text, '--checkpoint');
    }
    default:
      throw new UserError(ErrorCode.BAD_URL, `--checkpoint '${text}': unsupported scheme '${url.scheme}:'; supported: file:DIR`);
  }
}

/**
 * Journals of external calls (predictions) beside the checkpoints of `--checkpoint file:DIR`:
 * `DIR/<pipeline>/journals/`, so a restart does not pay for a prediction twice.
 */
export function journalsFor(text: string, pipeline: string): ReturnType<typeof fileJournals> {
  const url = parseEndpoint(text, '--checkpoint');
  return fileJournals(join(filePath(url, text, '--checkpoint'), pipeline, 'journals'));
}

/** `--checkpoint-interval`: a duration (`5s`) or a record count (`10000`). */
export function checkpointInterval(text: string): { everyMs?: number; everyRecords?: number } {
  if (/^\d+$/.test(text)) {
    const records = Number(text);
    if (records < 1 || !Number.isSafeInteger(records)) throw new UserError(ErrorCode.BAD_OPTION, `--checkpoint-interval '${text}': a record count must be at least 1`);
    return { everyRecords: records };
  }
  const ms = parseDuration(text, '--checkpoint-interval');
  if (ms < 1) throw new UserError(ErrorCode.BAD_OPTION, `--checkpoint-interval '${text}' must be longer than 0`);
  return { everyMs: ms };
}
