/**
 * The operations surface of a run: `/healthz`, `/readyz` and `/metrics` over HTTP
 * (`--ops-port`), CloudWatch EMF metrics on ECS, and a warning when a partition stalls.
 *
 * @module
 */
import type { RunView } from '../run.js';
import { onEcs } from './ecs.js';
import { EmfPublisher } from './emf.js';
import type { Log } from './log.js';
import { OpsMetrics, type ObservedPrediction, type ObservedSink } from './metrics.js';
import { readiness, type Readiness } from './readiness.js';
import { serveOps, type OpsServer } from './service.js';

export { createLog, LOG_FORMATS, type Log, type LogFormat } from './log.js';
export { predictionsOf, type ObservedSink } from './metrics.js';
export { onEcs } from './ecs.js';

/** How often stalls are looked for, to warn about them (readiness itself is computed per probe). */
const STALL_CHECK_MS = 5_000;

export interface OpsOptions {
  readonly pipeline: string;
  readonly log: Log;
  /** Serve the endpoints on this port (0: any free one); undefined: no server. */
  readonly port?: number | undefined;
  /** Default 127.0.0.1; `0.0.0.0` in a container. */
  readonly host?: string | undefined;
  readonly predictions?: readonly ObservedPrediction[];
  /** Aborted when the run starts shutting down: readiness then answers 503. */
  readonly stopping: AbortSignal;
  /** Environment, for ECS detection (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  readonly stallAfterMs?: number;
  /** Wall clock, epoch ms. */
  readonly now?: () => number;
}

/**
 * The running operations surface. {@link Ops.attach} hands it the run's view once the run has
 * opened its source; until then `/readyz` says the run is starting.
 */
export class Ops {
  private view: RunView | undefined;
  private server: OpsServer | undefined;
  private metrics: OpsMetrics | undefined;
  private emf: EmfPublisher | undefined;
  private readonly stalled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  /** @internal use {@link startOps} */
  constructor(private readonly options: OpsOptions) {}

  /** `http://HOST:PORT` of the endpoints; undefined without `--ops-port`. */
  get url(): string | undefined {
    return this.server?.url;
  }

  attach(view: RunView): void {
    this.view = view;
  }

  /** Measures these sinks' writes for `/metrics` (they open after the endpoints are up). */
  observeSinks(sinks: readonly ObservedSink[]): void {
    this.metrics?.observeSinks(sinks);
  }

  readiness(): Readiness {
    const phase = this.options.stopping.aborted ? 'stopping' : this.view === undefined ? 'starting' : 'running';
    return readiness({ phase, view: this.view, now: this.now(), ...(this.options.stallAfterMs === undefined ? {} : { stallAfterMs: this.options.stallAfterMs }) });
  }

  /** @internal */
  async start(): Promise<void> {
    const { options } = this;
    const view = (): RunView | undefined => this.view;
    if (options.port !== undefined) {
      const metrics = new OpsMetrics({
        pipeline: options.pipeline,
        view,
        ready: () => this.readiness().ready,
        ...(options.predictions === undefined ? {} : { predictions: options.predictions }),
      });
      try {
        this.server = await serveOps({
          host: options.host ?? '127.0.0.1',
          port: options.port,
          routes: {
            // answering at all is the proof: a blocked event loop times the probe out
            '/healthz': () => ({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' }),
            '/readyz': () => {
              const state = this.readiness();
              return { status: state.ready ? 200 : 503, type: 'application/json', body: JSON.stringify(state) + '\n' };
            },
            '/metrics': async () => ({ status: 200, type: metrics.contentType, body: await metrics.text() }),
          },
        });
      } catch (err) {
        metrics.close();
        throw err;
      }
      this.metrics = metrics;
    }
    const env = options.env ?? process.env;
    if (onEcs(env)) {
      const namespace = env['AWS_EMF_NAMESPACE'];
      this.emf = new EmfPublisher({ pipeline: options.pipeline, view, ...(namespace === undefined || namespace === '' ? {} : { namespace }) });
      this.emf.start();
    }
    this.timer = setInterval(() => this.checkStalls(), STALL_CHECK_MS).unref();
  }

  /** Closes the server and writes the last EMF document; once, however often called. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      await this.emf?.stop();
      this.metrics?.close();
      await this.server?.close();
    })();
    return this.closing;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Warns once when a partition stalls, and says when it reads again. */
  private checkStalls(): void {
    if (this.view === undefined || this.options.stopping.aborted) return;
    const { partitions } = this.readiness();
    const now = new Set(partitions.filter((p) => p.stalled).map((p) => p.partition));
    for (const p of partitions) {
      if (p.stalled && !this.stalled.has(p.partition)) {
        this.options.log.warn(`sluice: partition ${p.partition} stalled: input has waited ${Math.round((p.waitingMs ?? 0) / 1000)} s for the pipeline to take it; a sink may be stuck`, {
          partition: p.partition,
          waitingMs: p.waitingMs,
          lag: p.lag,
        });
      }
    }
    for (const partition of this.stalled) {
      if (!now.has(partition)) this.options.log.info(`sluice: partition ${partition} is reading again`, { partition });
    }
    this.stalled.clear();
    for (const partition of now) this.stalled.add(partition);
  }
}

/**
 * Starts what the options ask for: the HTTP endpoints with `port`, EMF when running on ECS, and
 * the stall warnings.
 *
 * @example const ops = await startOps({ pipeline, log, port: 8081, host: '0.0.0.0', stopping: stop.signal });
 */
export async function startOps(options: OpsOptions): Promise<Ops> {
  const ops = new Ops(options);
  await ops.start();
  return ops;
}
