import type { ServerResponse } from 'node:http';

/**
 * Injected delays of a local test server (latency, throttling back-off): each ends after its time,
 * or early when its client goes away or the server stops, so a stop never waits for them.
 *
 * @example await waits.sleep(decision.delayMs, res); … on stop: waits.settleAll();
 */
export class Waits {
  private readonly pending = new Set<() => void>();

  /** Resolves after `ms`, or as soon as `res` closes or {@link settleAll} runs. */
  sleep(ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending.add(done);
      res.once('close', done);
    });
  }

  /** Ends every pending wait now. */
  settleAll(): void {
    for (const done of [...this.pending]) done();
  }
}
