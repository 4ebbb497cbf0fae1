/**
 * A local, SageMaker-compatible model endpoint: the real `@aws-sdk/client-sagemaker-runtime`
 * client, pointed at it (`endpoint: server.url`, any region, any credentials), invokes two small
 * real models trained on the data generator's labelled events:
 *
 * - `telemetry-anomaly`: sensor-fault score of a vehicle's 1-minute telemetry window;
 * - `clickstream-purchase`: purchase propensity of a web-shop session.
 *
 * Features and their order are in `features.ts`; the weights in `models/*.json` come from
 * `node scripts/train-models.mjs`. One start helper for tests and for `sluice dev`.
 *
 * @example
 * const server = await startModelServer();
 * const client = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 * await client.send(new InvokeEndpointCommand({ EndpointName: 'telemetry-anomaly', ContentType: 'text/csv', Body: '24,61.2,74.9,1.3,2.41,0\n' }));
 * await server.stop();
 * @module
 */
import { bundledModels, type LogisticModel } from './models.js';
import { listenModelServer, type ModelServer } from './service.js';
import type { FaultSettings } from './faults.js';

export { CLICKSTREAM_FEATURES, TELEMETRY_FEATURES, TELEMETRY_WINDOW_MS, clickstreamFeatures, telemetryFeatures } from './features.js';
export { CLICKSTREAM_PURCHASE, TELEMETRY_ANOMALY, bundledModels, score, type LogisticModel, type Scored } from './models.js';
export { FAULT_ERRORS, type FaultError, type FaultSettings } from './faults.js';
export { MAX_PAYLOAD_BYTES } from './protocol.js';
export type { ModelServer, ModelServerStats } from './service.js';

/**
 * Options of {@link startModelServer}.
 *
 * @see startModelServer
 */
export interface StartModelServerOptions {
  /** Loopback port; a free one when omitted. Must be free when given. */
  readonly port?: number;
  /** Faults from the start (default none); change them later with `setFaults`. */
  readonly faults?: FaultSettings;
  /** Models by endpoint name (default the two bundled ones). */
  readonly models?: ReadonlyMap<string, LogisticModel>;
}

/**
 * Starts the local endpoint on 127.0.0.1 and resolves once it listens. Rejects with the bind
 * error (EADDRINUSE…) when a given port is taken, and with the file's problem when a bundled
 * model cannot be read.
 *
 * @example const { url, stop, stats } = await startModelServer({ faults: { latencyMs: 20 } })
 * @see runModelServer
 */
export function startModelServer(options: StartModelServerOptions = {}): Promise<ModelServer> {
  return listenModelServer({ port: options.port ?? 0, models: options.models ?? bundledModels(), faults: options.faults ?? {} });
}

/**
 * Runs the endpoint in the foreground until SIGINT or SIGTERM, then stops it and resolves (for
 * `sluice dev model-server`). Reports one line with its address; a second signal while stopping
 * exits at once.
 *
 * @example await runModelServer({ port: 8080 }, (line) => process.stderr.write(line + '\n'))
 * @see startModelServer
 */
export async function runModelServer(options: StartModelServerOptions, report: (line: string) => void): Promise<void> {
  let stopRequested = false;
  let requestStop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopRequested = true;
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const server = await startModelServer(options);
    try {
      if (!stopRequested) report(`sluice: SageMaker-compatible endpoints ${server.endpoints.join(', ')} are running at ${server.url} (Ctrl-C stops them)`);
      await stopSignal;
    } finally {
      await server.stop();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
