/**
 * Page views per page and minute from the bundled clickstream sample, with the 95th percentile
 * of dwell time. Run it with:
 *
 *   bin/sluice run examples/page-views.ts
 *
 * `--source file:other.jsonl` reads another input; `--sink file:out.jsonl` writes elsewhere.
 */
import { count, definePipeline, p95, tumbling } from 'sluice';

interface Click {
  readonly ts: string;
  readonly userId: string;
  readonly page: string;
  readonly dwellMs: number;
}

export default definePipeline(
  'page-views',
  (s) =>
    s
      .parseJson<Click>()
      .withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' })
      .keyBy('page')
      // the account pages are private: they never leave the process
      .filter((click) => click.page !== '/account')
      .map((click) => ({ ...click, dwellMs: Math.max(0, click.dwellMs) }))
      .window({ assign: tumbling('1m'), aggregate: { views: count(), p95_dwell_ms: p95('dwellMs') } }),
  { source: 'file:samples/clickstream.jsonl.gz' },
);
