/**
 * The console summary of a load test: one row per step, the recommendation and its rule.
 *
 * @module
 */
import type { LoadReport } from './report.js';
import { fmt } from './sizing.js';

/**
 * The lines `sluice loadtest` prints when it is done.
 *
 * @example formatLoadSummary(report, { html: 'out/report.html', json: 'out/report.json' })
 */
export function formatLoadSummary(report: LoadReport, files: { readonly html: string; readonly json: string } | null): string[] {
  const lines: string[] = [];
  const what = report.case === null ? '' : ` case ${report.case},`;
  const parts = report.kinesis === undefined ? 'partitions' : `shards${report.kinesis.aggregate ? ', KPL-aggregated' : ''}`;
  lines.push(`sluice loadtest:${what} ${report.target} (${report.topicPartitions} ${parts}), ${report.workload} → pipeline ${report.pipeline}, ${report.steps.length} ${report.steps.length === 1 ? 'step' : 'steps'}`);
  const cols = ['step', 'target/s', 'put/s', 'read/s', 'acked', 'read', 'failed', 'lag end/max', 'p50 ms', 'p99 ms', 'max ms', 'CPU', 'RSS MB', 'ok'];
  const widths = [4, 9, 9, 9, 8, 8, 7, 13, 8, 8, 8, 6, 7, 4];
  const row = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' ');
  lines.push(row(cols));
  for (const s of report.steps) {
    lines.push(
      row([
        String(s.step + 1),
        fmt(s.targetRate, 0),
        fmt(s.putRate, 0),
        fmt(s.readRate, 0),
        String(s.acked),
        String(s.read),
        String(s.failed),
        `${fmt(s.lagEnd, 0)}/${fmt(s.lagMax, 0)}`,
        fmt(s.latency.p50, 1),
        fmt(s.latency.p99, 1),
        fmt(s.latency.max, 1),
        fmt(s.cpuCores, 2),
        fmt(s.rssMaxMb, 0),
        s.sustained && s.overBudget.length === 0 ? 'yes' : 'no',
      ]),
    );
    if (s.overBudget.length > 0) lines.push(`     over budget: ${s.overBudget.join(', ')}`);
    if (s.firstError !== null) lines.push(`     send errors (${s.failed} records${s.throttled > 0 ? `, ${s.throttled} throttled` : ''}): ${s.firstError}`);
  }
  const t = report.totals;
  lines.push(
    `totals: ${t.acked} acknowledged, ${t.read} read by the pipeline${report.drained ? '' : ' — NOT all read before the drain timeout'}; ${t.resultsOut} results, ${t.deadLettered} dead-lettered, ${t.late} late` +
      (t.foreign > 0 ? `; ${t.foreign} records not from this run` : ''),
  );
  const k = report.kinesis;
  if (k !== undefined) {
    const p = k.puts;
    lines.push(
      `kinesis: ${p.putCalls} PutRecords calls, ${p.kinesisRecords} Kinesis records (${p.aggregatedRecords} aggregated) carrying ${p.userRecords} user records, ${p.putUnits} PUT units, ` +
        `${p.throttled} entries throttled (${p.retried} records sent again, none dropped)`,
    );
    for (const shard of k.shardLoad) {
      lines.push(`  ${shard.shard}: put ${shard.put.join('/')}, read ${shard.read.join('/')} per step; MillisBehindLatest max ${shard.millisBehindMax === null ? 'n/a' : `${fmt(shard.millisBehindMax, 0)} ms`}`);
    }
  }
  lines.push(`latency: from the moment each record was due (open-loop schedule) to the pipeline having it; lag: records acknowledged but not yet read${k === undefined ? '' : ' (and MillisBehindLatest)'}; CPU and RSS: the consumer process`);
  const r = report.recommendation;
  lines.push(
    r.tasks === null
      ? 'recommendation: none'
      : `recommendation for ${fmt(r.targetRate, 0)} records/s: ${r.tasks} Fargate ${r.tasks === 1 ? 'task' : 'tasks'} (1 vCPU), ${r.partitions === null ? '' : `${r.partitions} Kafka partitions; `}Kinesis: ${r.kinesisShards} ${r.kinesisShards === 1 ? 'shard' : 'shards'}, ${r.kinesisMode}`,
  );
  for (const line of r.explanation) lines.push(`  - ${line}`);
  if (files !== null) lines.push(`report: ${files.html} (and ${files.json})`);
  return lines;
}
