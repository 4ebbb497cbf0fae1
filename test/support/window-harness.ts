import { WindowOperator } from '../../src/windows/window-operator.js';
import { CompositeAggregate } from '../../src/windows/aggregates/composite.js';
import { count, sum } from '../../src/windows/aggregates/index.js';
import type { WindowAssigner } from '../../src/windows/assigners.js';
import type { Envelope } from '../../src/core/envelope.js';
import { canonicalKey } from '../../src/core/keys.js';

/** One line per firing: `key [start,end) r=revision n=count s=sum` (+ ` supersedes=…`). */
export type Firing = string;

export interface HarnessOptions {
  readonly assigner: WindowAssigner;
  readonly allowedLateness?: number;
  readonly maxOutOfOrderness?: number;
}

/**
 * Drives one WindowOperator the way a partition does: each event is stamped with the bounded
 * out-of-orderness watermark in effect before it, then `end()` sends the final +∞ watermark.
 */
export class WindowHarness {
  readonly firings: Firing[] = [];
  readonly late: number[] = [];
  readonly rejected: string[] = [];
  private readonly operator: WindowOperator;
  private readonly ooo: number;
  private maxSeen = Number.NEGATIVE_INFINITY;
  private current = Number.NEGATIVE_INFINITY;

  constructor(options: HarnessOptions) {
    this.ooo = options.maxOutOfOrderness ?? 0;
    const aggregate = new CompositeAggregate({ n: count(), s: sum('v') }, { needsMerge: options.assigner.kind === 'session' });
    this.operator = new WindowOperator({
      assigner: options.assigner,
      aggregate,
      allowedLateness: options.allowedLateness ?? 0,
      listener: {
        fire: (pane, revision, supersedes) => {
          const r = aggregate.result(pane.acc);
          const key = (pane.keyValue as { k: string }).k;
          const sup = supersedes?.length ? ` supersedes=${supersedes.map((b) => `[${b.start},${b.end})`).join(',')}` : '';
          this.firings.push(`${key} [${pane.start},${pane.end}) r=${revision} n=${String(r['n'])} s=${String(r['s'])}${sup}`);
        },
        late: (env) => this.late.push(env.time),
        reject: (_env, reason) => this.rejected.push(reason),
        advanced: () => undefined,
      },
    });
  }

  /** Sends one event `key@time` (value 1 unless given). */
  event(key: string, time: number, v: unknown = 1): this {
    const env: Envelope = {
      value: { k: key, v },
      time,
      wm: this.current,
      key: canonicalKey(key),
      keyValue: { k: key },
      partition: 'p',
      position: {},
      raw: undefined,
    };
    if (time > this.maxSeen) {
      this.maxSeen = time;
      this.current = time - this.ooo - 1;
    }
    this.operator.process(env);
    return this;
  }

  /** Delivers the watermark the last event produced (what a batch boundary does). */
  flush(): this {
    this.operator.advance(this.current);
    return this;
  }

  /** Sends an explicit watermark. */
  watermark(time: number): this {
    this.current = Math.max(this.current, time);
    this.operator.advance(time);
    return this;
  }

  /** End of input: the final +∞ watermark. */
  end(): this {
    this.operator.advance(Number.POSITIVE_INFINITY);
    return this;
  }

  get watermarkNow(): number {
    return this.operator.watermark;
  }

  get panes(): number {
    return this.operator.paneCount;
  }
}
