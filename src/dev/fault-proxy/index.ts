/**
 * A fault-injection proxy for the real local peers (moto, OpenSearch, InfluxDB): a small HTTP
 * proxy on loopback between a sink and its peer that, on a seeded schedule, throttles requests
 * with the peer's own error shape, fails them with 5xx, delays them, cuts their connections, and
 * fails Firehose PutRecordBatch calls partly — forwarding only some records and answering for the
 * rest with `FailedPutCount` and per-record `ServiceUnavailableException` — so a sink's retry
 * paths run against the real service and what lands there can be checked for losses and
 * duplicates.
 *
 * @example
 * const proxy = await startFaultProxy({ target: moto.endpoint, plan: { throttleFirst: 2, partialFirehose: { everyCall: 1, failFraction: 0.3 }, seed: 7 } });
 * const sink = await openFirehoseSink(parseFirehoseUrl('firehose://results', '--sink'), { endpointUrl: proxy.url });
 * await sink.write(results);
 * proxy.stats(); // { throttled: 2, partialCalls: …, refusedRecords: …, … }
 * proxy.setPlan({}); // healthy from now on
 * await proxy.stop();
 * @module
 */
import { ErrorCode, UserError } from '../../core/errors.js';
import { checkPlan, type FaultPlan } from './plan.js';
import { listenFaultProxy, type FaultProxy } from './service.js';

export { checkPlan, FaultSchedule, PUT_RECORD_BATCH_TARGET, type FaultDecision, type FaultMatch, type FaultPlan, type PartialFirehosePlan, type RequestInfo, type ThrottleAnswer } from './plan.js';
export { errorAnswer, FIREHOSE_REFUSED, mergePutRecordBatch, parsePutRecordBatch, protocolOf, subRequest, throttleAnswer, type InjectedAnswer, type PeerProtocol } from './protocol.js';
export type { FaultProxy, FaultProxyStats } from './service.js';

/**
 * Options of {@link startFaultProxy}.
 *
 * @see startFaultProxy
 */
export interface StartFaultProxyOptions {
  /** The peer: `http://HOST:PORT` (plain HTTP; a path is ignored). */
  readonly target: string;
  /** Faults from the start (default none); change them later with `setPlan`. */
  readonly plan?: FaultPlan;
  /** Loopback port; a free one when omitted. */
  readonly port?: number;
}

/**
 * Starts a fault proxy on 127.0.0.1 in front of `target` and resolves once it listens. Rejects
 * with `UserError(BAD_OPTION)` for a target that is not an http:// URL or a bad plan, and with the
 * bind error when a given port is taken.
 *
 * @example const { url, stats, setPlan, stop } = await startFaultProxy({ target: 'http://127.0.0.1:9200', plan: { match: { pathPrefix: '/_bulk' }, dropEvery: 3 } })
 * @see FaultPlan
 * @see FaultProxy
 */
export async function startFaultProxy(options: StartFaultProxyOptions): Promise<FaultProxy> {
  let target: URL;
  try {
    target = new URL(options.target);
  } catch {
    throw new UserError(ErrorCode.BAD_OPTION, `fault proxy target '${options.target}' is not a URL; write http://HOST:PORT`);
  }
  if (target.protocol !== 'http:') throw new UserError(ErrorCode.BAD_OPTION, `fault proxy target '${options.target}' must be an http:// URL (the proxy does not speak TLS)`);
  let plan: FaultPlan;
  try {
    plan = checkPlan(options.plan ?? {});
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `fault proxy plan: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return listenFaultProxy({ target, port: options.port ?? 0, plan });
}
