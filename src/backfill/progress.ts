/**
 * Backfill progress: a cli-progress bar (bytes, events/s, ETA) on a terminal, a plain line every
 * ~10 s otherwise. It counts what the partition readers hand over, so it needs nothing from the
 * runtime. Silent unless asked (`--progress`) or stderr is a terminal.
 *
 * @module
 */
import cliProgress from 'cli-progress';
import type { PartitionReader, Source } from '../core/connectors.js';

/** How progress is shown. */
export type ProgressMode = 'bar' | 'lines' | 'off';

/** Counts events and bytes read through a source. */
export interface Progress {
  readonly source: Source;
  stop(): void;
}

/**
 * Wraps `source` so its readers count what they read, and at most `parallelism` partitions are
 * being read at once (a partition holds its slot from its first read until its end).
 */
export function withProgress(source: Source, options: { readonly totalBytes: number | undefined; readonly mode: ProgressMode; readonly parallelism: number; readonly report: (line: string) => void }): Progress {
  let events = 0;
  let bytes = 0;
  const started = Date.now();
  const slots = new Slots(options.parallelism);
  const wrap = (reader: PartitionReader): PartitionReader => {
    let holding = false;
    const release = (): void => {
      if (holding) slots.release();
      holding = false;
    };
    return {
      partition: reader.partition,
      async read() {
        if (!holding) {
          await slots.acquire();
          holding = true;
        }
        const batch = await reader.read();
        if (batch === null) release();
        else {
          events += batch.length;
          for (const env of batch) bytes += typeof env.raw === 'string' ? Buffer.byteLength(env.raw) + 1 : (env.raw?.length ?? 0) + 1;
        }
        return batch;
      },
      ...(reader.commit === undefined ? {} : { commit: (position) => (reader.commit as NonNullable<PartitionReader['commit']>)(position) }),
      async close() {
        release();
        await reader.close();
      },
    };
  };
  const wrapped: Source = {
    get description() {
      return source.description;
    },
    open: async (resume) => (await source.open(resume)).map(wrap),
    close: () => source.close(),
  };
  const total = options.totalBytes;
  const rate = (): number => events / Math.max(0.001, (Date.now() - started) / 1000);
  let timer: NodeJS.Timeout | undefined;
  let bar: cliProgress.SingleBar | undefined;
  if (options.mode === 'bar') {
    bar = new cliProgress.SingleBar(
      { format: 'backfill [{bar}] {percentage}% | {value}/{total} bytes | {rate} events/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 0, 0, { rate: 0 });
    timer = setInterval(() => bar?.update(Math.min(bytes, total ?? bytes), { rate: Math.round(rate()) }), 250);
  } else if (options.mode === 'lines') {
    timer = setInterval(() => {
      const share = total === undefined || total === 0 ? '' : ` of ${total} (${Math.min(100, Math.round((bytes / total) * 100))}%)`;
      options.report(`sluice backfill: ${events} events, ${bytes} bytes${share} read, ${Math.round(rate())} events/s`);
    }, 10_000);
  }
  timer?.unref();
  return {
    source: wrapped,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      if (bar !== undefined) {
        bar.update(Math.min(bytes, total ?? bytes), { rate: Math.round(rate()) });
        bar.stop();
      }
    },
  };
}

/** A counting semaphore. */
class Slots {
  private readonly waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.free++;
  }
}
