/**
 * Where sources wait for room: a source asks `until(condition)` before reading its next batch,
 * and whoever frees room (a sink acknowledging, a batch leaving the operators) calls `notify`.
 */
export class Gate {
  private waiters: (() => void)[] = [];

  async until(open: () => boolean): Promise<void> {
    while (!open()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
