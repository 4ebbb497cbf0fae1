/** Named counters of one run; every drop has one, so nothing is lost silently. */
export const Counter = {
  EVENTS_IN: 'events_in',
  RESULTS_OUT: 'results_out',
  LATE: 'late',
  DEAD_LETTERED: 'dead_lettered',
  DUPLICATES: 'duplicates',
  LATE_PARTIALS: 'late_partials',
} as const;

export type CounterName = (typeof Counter)[keyof typeof Counter] | (string & {});

export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: CounterName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: CounterName): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
