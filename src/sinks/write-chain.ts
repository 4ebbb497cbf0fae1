/**
 * Writes of one sink, one after another: a write starts when the previous one settled, and
 * `close` refuses new writes at once, then waits for the one in flight.
 *
 * @example const done = this.writes.run(this.description, () => this.send(records));
 */
export class WriteChain {
  private last: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Runs `write` after the writes before it; rejects at once when the chain is closed. */
  run<T>(description: string, write: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${description} is closed`));
    const done = this.last.then(write);
    this.last = done.catch(() => undefined);
    return done;
  }

  /** Refuses further writes and waits for the one in flight; false when it was closed already. */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await this.last;
    return true;
  }
}
