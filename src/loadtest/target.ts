/**
 * `--target` of `sluice loadtest`: a Kafka topic today; Kinesis streams come with the Kinesis
 * source and sink.
 *
 * @module
 */
import { ErrorCode, UserError } from '../core/errors.js';
import { parseKafkaUrl, type KafkaEndpoint } from '../kafka/endpoint.js';

/**
 * The Kafka endpoint a `--target` URL names; a one-line `UserError` naming `--target` otherwise.
 *
 * @example parseTarget('kafka://127.0.0.1:9092/load').topic // 'load'
 * @example parseTarget('kinesis://clicks') // UserError: the Kinesis target is not built yet; use kafka://…
 */
export function parseTarget(text: string, env: Readonly<Record<string, string | undefined>> = process.env): KafkaEndpoint {
  if (text.startsWith('kinesis://')) {
    throw new UserError(ErrorCode.BAD_URL, `--target '${text}': the Kinesis target is not built yet; use kafka://BROKER[,BROKER]/TOPIC`);
  }
  if (!text.startsWith('kafka://')) throw new UserError(ErrorCode.BAD_URL, `--target '${text}': write kafka://BROKER[,BROKER]/TOPIC`);
  const endpoint = parseKafkaUrl(text, 'sink', env, '--target');
  if (endpoint.key !== undefined) {
    throw new UserError(ErrorCode.BAD_URL, `--target '${endpoint.url}': the record key of a load test is an event field, given with --key; remove key=`);
  }
  return endpoint;
}
