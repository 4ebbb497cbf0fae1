/**
 * `--target` of `sluice loadtest`: a Kafka topic (`kafka://BROKER[,BROKER]/TOPIC`) or a Kinesis
 * data stream (`kinesis://STREAM[?param=value…]`). Either must already exist: a load test never
 * creates what it measures.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { parseKafkaUrl, type KafkaEndpoint } from '../kafka/endpoint.js';
import { parseKinesisUrl, type KinesisEndpoint } from '../kinesis/endpoint.js';

/** What a load test drives: the broker's endpoint, tagged with its kind. */
export type LoadTarget =
  | { readonly kind: 'kafka'; readonly url: string; readonly endpoint: KafkaEndpoint }
  | {
      readonly kind: 'kinesis';
      readonly url: string;
      /** The stream as the pipeline under test reads it (polling, or enhanced fan-out with `consumer=`). */
      readonly endpoint: KinesisEndpoint;
      /** `aggregate=true` in the URL: the same as `--aggregate`. */
      readonly aggregate: boolean;
    };

/**
 * Source parameters a Kinesis load target refuses: the load test chooses where its consumer starts
 * (the first record of this run) and runs one worker with its leases in memory.
 */
const REFUSED = ['start', 'app', 'coordinator'];

/**
 * The endpoint a `--target` URL names; a one-line `UserError` naming `--target` otherwise.
 *
 * @example parseTarget('kafka://127.0.0.1:9092/load').kind // 'kafka'
 * @example parseTarget('kinesis://clicks?consumer=loadtest').endpoint.consumer // 'loadtest'
 */
export function parseTarget(text: string, env: Readonly<Record<string, string | undefined>> = process.env): LoadTarget {
  if (text.startsWith('kinesis://')) return parseKinesisTarget(text, env);
  if (!text.startsWith('kafka://')) throw new UserError(ErrorCode.BAD_URL, `--target '${text}': write kafka://BROKER[,BROKER]/TOPIC or kinesis://STREAM`);
  const endpoint = parseKafkaUrl(text, 'sink', env, '--target');
  if (endpoint.key !== undefined) {
    throw new UserError(ErrorCode.BAD_URL, `--target '${endpoint.url}': the record key of a load test is an event field, given with --key; remove key=`);
  }
  return { kind: 'kafka', url: endpoint.url, endpoint };
}

function parseKinesisTarget(text: string, env: Readonly<Record<string, string | undefined>>): LoadTarget {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_URL, `--target '${text}': ${why}`);
  const query = text.indexOf('?');
  const params = new URLSearchParams(query < 0 ? '' : text.slice(query + 1));
  if (params.has('key')) throw bad('the partition key of a load test is an event field, given with --key; remove key=');
  for (const name of REFUSED) {
    if (params.has(name)) throw bad(`'${name}' is chosen by the load test (its consumer reads this run's records with one worker); remove ${name}=`);
  }
  const aggregateText = params.get('aggregate');
  if (aggregateText !== null && aggregateText !== 'true' && aggregateText !== 'false' && aggregateText !== '') throw bad(`aggregate must be true or false, got '${aggregateText}'`);
  params.delete('aggregate');
  const rest = params.toString();
  // parsed as a source: the pipeline under test reads it; the producer needs only stream, region and endpoint
  const endpoint = parseKinesisUrl(`${query < 0 ? text : text.slice(0, query)}${rest === '' ? '' : `?${rest}`}`, 'source', env, '--target');
  return { kind: 'kinesis', url: text, endpoint: { ...endpoint, url: text }, aggregate: aggregateText === 'true' || aggregateText === '' };
}
