import type { RunView } from '../runtime/run.js';

/** One row of the demo's live table. */
export interface DashboardRow {
  readonly pipeline: string;
  readonly view: RunView;
  /** The counter prefix of the pipeline's predict step (`predict`), when it has one. */
  readonly predict?: string;
}

interface Sample {
  readonly at: number;
  readonly events: number;
}

const HEADER = ['pipeline', 'events/s', 'events', 'watermark', 'lag', 'windows', 'late', 'dead-lettered', 'predicted', 'fallbacks', 'checkpoint'];

/**
 * The live terminal summary of `sluice demo`: one row per pipeline, redrawn in place each
 * second on a terminal. `lag` is how far the results trail the data in event time (latest event
 * seen − output watermark); `predicted` and `fallbacks` count the results a pipeline's predict step
 * scored, and those it passed on without a prediction because the endpoint failed.
 */
export class Dashboard {
  private readonly last = new Map<string, Sample>();
  private drawn = 0;

  constructor(
    private readonly rows: readonly DashboardRow[],
    private readonly write: (text: string) => void,
    private readonly now: () => number,
  ) {}

  /** Redraws the table over the previous one. */
  draw(): void {
    const lines = this.render();
    const up = this.drawn > 0 ? `\u001b[${this.drawn}A\u001b[0J` : '';
    this.write(up + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** The table as lines of text. */
  render(): string[] {
    const table = [HEADER, ...this.rows.map((row) => this.cells(row))];
    const widths = HEADER.map((_, i) => Math.max(...table.map((cells) => (cells[i] ?? '').length)));
    return table.map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  }

  private cells(row: DashboardRow): string[] {
    const counters = row.view.counters();
    const events = counters['events_in'] ?? 0;
    const now = this.now();
    const before = this.last.get(row.pipeline);
    this.last.set(row.pipeline, { at: now, events });
    const rate = before === undefined || now <= before.at ? 0 : ((events - before.events) * 1000) / (now - before.at);
    const watermark = row.view.watermark();
    const latest = row.view.maxEventTime();
    return [
      row.pipeline,
      Math.round(rate).toLocaleString('en-US'),
      events.toLocaleString('en-US'),
      Number.isFinite(watermark) ? new Date(watermark).toISOString().slice(11, 19) : '–',
      Number.isFinite(watermark) && Number.isFinite(latest) ? `${((latest - watermark) / 1000).toFixed(1)} s` : '–',
      (counters['results_out'] ?? 0).toLocaleString('en-US'),
      (counters['late'] ?? 0).toLocaleString('en-US'),
      (counters['dead_lettered'] ?? 0).toLocaleString('en-US'),
      // answered by the endpoint, or found in the journal of answers from before a restart
      row.predict === undefined ? '–' : ((counters[`${row.predict}_records`] ?? 0) + (counters[`${row.predict}_reused`] ?? 0)).toLocaleString('en-US'),
      row.predict === undefined ? '–' : (counters[`${row.predict}_fallbacks`] ?? 0).toLocaleString('en-US'),
      String(row.view.lastCheckpoint()),
    ];
  }
}
