/**
 * `report.html` and `report.json` of a load test. The page is self-contained: uPlot's script and
 * stylesheet are inlined from the installed package, the report's data sits in a JSON script
 * element, and four charts are drawn from it (throughput against the target rate, latency
 * percentiles over time, load per partition, and the monthly Kinesis cost of each rate).
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import type { LoadReport } from './report.js';
import { fmt, money } from './sizing.js';

/** uPlot's browser build and stylesheet, as text. */
export interface ChartAssets {
  readonly script: string;
  readonly style: string;
}

/**
 * Reads uPlot's IIFE build and CSS from the installed `uplot` package.
 *
 * @example const assets = await chartAssets(); assets.script.length // ~50 kB
 */
export async function chartAssets(): Promise<ChartAssets> {
  const dist = dirname(createRequire(import.meta.url).resolve('uplot'));
  const [script, style] = await Promise.all([readFile(join(dist, 'uPlot.iife.min.js'), 'utf8'), readFile(join(dist, 'uPlot.min.css'), 'utf8')]);
  return { script, style };
}

/**
 * Writes `DIR/report.json` and `DIR/report.html` (creating DIR); returns their paths.
 *
 * @example const { html } = await writeReport('loadtest-report', report)
 * @throws UserError(UNWRITABLE_OUTPUT) naming `--report` when DIR cannot be written.
 */
export async function writeReport(dir: string, report: LoadReport): Promise<{ readonly json: string; readonly html: string }> {
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  const page = renderReportHtml(report, await chartAssets());
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(html, page);
  } catch (err) {
    throw new UserError(ErrorCode.UNWRITABLE_OUTPUT, `--report '${dir}' cannot be written: ${messageOf(err)}`, { cause: err });
  }
  return { json, html };
}

/** The chart ids, in page order; the browser test checks each. */
export const CHART_IDS = ['throughput', 'latency', 'partitions', 'cost'] as const;

/**
 * The report page as one HTML string.
 *
 * @example renderReportHtml(report, await chartAssets()).startsWith('<!doctype html>') // true
 */
export function renderReportHtml(report: LoadReport, assets: ChartAssets): string {
  const r = report.recommendation;
  const title = `Sluice load test${report.case === null ? '' : `: ${report.case}`}`;
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const stepRows = report.steps
    .map(
      (s) => `<tr${s.sustained && s.overBudget.length === 0 ? '' : ' class="bad"'}><td>${s.step + 1}</td><td>${fmt(s.targetRate, 0)}</td><td>${fmt(s.putRate, 0)}</td><td>${fmt(s.readRate, 0)}</td>` +
        `<td>${s.acked}</td><td>${s.read}</td><td>${s.failed}${s.throttled > 0 ? ` (${s.throttled} throttled)` : ''}</td><td>${fmt(s.lagEnd, 0)} / ${fmt(s.lagMax, 0)}</td>` +
        `<td>${fmt(s.latency.p50, 1)}</td><td>${fmt(s.latency.p99, 1)}</td><td>${fmt(s.latency.max, 1)}</td><td>${fmt(s.cpuCores, 2)}</td><td>${fmt(s.rssMaxMb, 0)}</td>` +
        `<td>${s.sustained ? 'yes' : 'no'}${s.overBudget.length > 0 ? `; over budget: ${esc(s.overBudget.join(', '))}` : ''}</td></tr>`,
    )
    .join('\n');
  const costRows = [
    ...report.sizing.cost.provisioned.items.map((i) => `<tr><td>provisioned</td><td>${esc(i.name)}</td><td>${fmt(i.quantity, 1)} ${esc(i.unit)}</td><td>${money(i.cost)}</td></tr>`),
    `<tr class="total"><td>provisioned</td><td>total</td><td></td><td>${money(report.sizing.cost.provisioned.total)}</td></tr>`,
    ...report.sizing.cost.onDemand.items.map((i) => `<tr><td>on-demand</td><td>${esc(i.name)}</td><td>${fmt(i.quantity, 1)} ${esc(i.unit)}</td><td>${money(i.cost)}</td></tr>`),
    `<tr class="total"><td>on-demand</td><td>total</td><td></td><td>${money(report.sizing.cost.onDemand.total)}</td></tr>`,
  ].join('\n');
  const headline =
    r.tasks === null
      ? `No recommendation: ${esc(r.explanation[0] ?? '')}`
      : `For ${fmt(r.targetRate, 0)} records/s: <b>${r.tasks} Fargate ${r.tasks === 1 ? 'task' : 'tasks'}</b>${r.partitions === null ? '' : `, <b>${r.partitions} Kafka partitions</b>`}; on Kinesis <b>${r.kinesisShards} ${r.kinesisShards === 1 ? 'shard' : 'shards'}, ${r.kinesisMode}</b>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>${assets.style}</style>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; } tr.bad td { background: #fde8e8; } tr.total td { font-weight: bold; }
.chart { margin: 12px 0 20px; } .meta { color: #555; } ul { margin: 6px 0; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">${esc(report.generatedAt)} · target ${esc(report.target)} (${report.topicPartitions} ${report.kinesis === undefined ? 'partitions' : `shards${report.kinesis.aggregate ? ', KPL-aggregated' : ''}`}) · workload ${esc(report.workload)} (seed ${report.seed}, key ${esc(report.keyField)}) · pipeline ${esc(report.pipeline)} · ${report.recordSize > 0 ? `records padded to ${report.recordSize} B` : 'records as generated'}</p>
<p>${headline}</p>
<ul>${r.explanation.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>
<p class="meta">Totals: ${report.totals.acked} records acknowledged, ${report.totals.read} read by the pipeline${report.drained ? '' : ' (the pipeline did not read everything before the drain timeout)'}, ${report.totals.failed} failed sends, ${report.totals.resultsOut} results out, ${report.totals.deadLettered} dead-lettered, ${report.totals.late} late. Latency runs from the moment each record was due (open-loop schedule) to the pipeline having it.</p>
<h2>Throughput against the target rate</h2>
<div class="chart" id="throughput"></div>
<h2>Latency percentiles over time (ms, per ${report.timeline.length > 1 ? 'sampling interval' : 'run'})</h2>
<div class="chart" id="latency"></div>
<h2>Load per partition (records/s at the highest step)</h2>
<div class="chart" id="partitions"></div>
<h2>Monthly Kinesis cost by rate (sizing model)</h2>
<div class="chart" id="cost"></div>
<h2>Steps</h2>
<table>
<tr><th>step</th><th>target/s</th><th>put/s</th><th>read/s</th><th>acked</th><th>read</th><th>failed</th><th>lag end / max</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>CPU cores</th><th>RSS MB</th><th>sustained</th></tr>
${stepRows}
</table>
${kinesisSection(report)}<h2>Kinesis cost at ${fmt(report.sizing.input.rate, 0)} records/s of ${fmt(report.sizing.input.recordSize, 0)} B (${report.sizing.hoursPerMonth} h month, ${esc(report.sizing.prices.region)} prices as of ${esc(report.sizing.prices.asOf)})</h2>
<table>
<tr><th>mode</th><th>item</th><th>quantity</th><th>per month</th></tr>
${costRows}
</table>
<script id="report-data" type="application/json">${data}</script>
<script>${assets.script}</script>
<script>
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

/** Draws the charts; `window.sluiceCharts` lists them ({ id, plot }) for the browser test. */
const PAGE_SCRIPT = String.raw`
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
  var charts = [];
  window.sluiceCharts = charts;
  // every y axis starts at zero, so bar heights and gaps read true
  var fromZero = { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } };
  function draw(id, series, data, extra) {
    var opts = Object.assign({ width: 900, height: 300, series: series }, extra || {});
    opts.scales = Object.assign({ y: fromZero }, opts.scales || {});
    charts.push({ id: id, plot: new uPlot(opts, data, document.getElementById(id)) });
  }
  function line(label, i, more) {
    return Object.assign({ label: label, stroke: colors[i], width: 2, points: { show: true, size: 6, fill: colors[i] } }, more || {});
  }
  var steps = report.steps.slice().sort(function (a, b) { return a.targetRate - b.targetRate; });
  draw('throughput', [{ label: 'target records/s' }, line('target', 4, { dash: [6, 4] }), line('put (acknowledged)', 0), line('read by the pipeline', 2)],
    [steps.map(function (s) { return s.targetRate; }), steps.map(function (s) { return s.targetRate; }), steps.map(function (s) { return s.putRate; }), steps.map(function (s) { return s.readRate; })],
    { scales: { x: { time: false } } });
  var tl = report.timeline;
  draw('latency', [{ label: 's' }, line('p50', 2), line('p90', 0), line('p99', 3), line('max', 1)],
    [tl.map(function (p) { return p.t; }), tl.map(function (p) { return p.p50; }), tl.map(function (p) { return p.p90; }), tl.map(function (p) { return p.p99; }), tl.map(function (p) { return p.max; })],
    { scales: { x: { time: false } } });
  var top = steps.length === 0 ? null : steps[steps.length - 1];
  var load = report.partitionLoad;
  var seconds = top === null ? 1 : top.durationMs / 1000;
  var even = top === null || load.length === 0 ? 0 : top.read / seconds / report.topicPartitions;
  draw('partitions', [{ label: 'partition' }, Object.assign(line('records/s', 0), { paths: uPlot.paths.bars({ size: [0.6, 80] }), fill: colors[0] + '99', points: { show: false } }), line('even share', 3, { dash: [6, 4] })],
    [load.map(function (p, i) { return i; }), load.map(function (p) { return top === null ? 0 : p.records[top.step] / seconds; }), load.map(function () { return even; })],
    { scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } } }, axes: [{ splits: function () { return load.map(function (p, i) { return i; }); }, values: function (u, ticks) { return ticks.map(function (t) { var p = load[t]; return p ? p.partition.slice(p.partition.lastIndexOf('/') + 1) : ''; }); } }, {}] });
  var cost = report.costByRate;
  draw('cost', [{ label: 'records/s' }, line('provisioned $/month', 0), line('on-demand $/month', 1)],
    [cost.map(function (c) { return c.rate; }), cost.map(function (c) { return c.provisioned; }), cost.map(function (c) { return c.onDemand; })],
    { scales: { x: { time: false } } });
})();
`;

/** A Kinesis target's puts and per-shard load; nothing for Kafka. */
function kinesisSection(report: LoadReport): string {
  const k = report.kinesis;
  if (k === undefined) return '';
  const p = k.puts;
  const steps = report.steps.map((s) => `<th>put step ${s.step + 1}</th><th>read step ${s.step + 1}</th>`).join('');
  const rows = k.shardLoad
    .map((shard) => `<tr><td>${esc(shard.shard)}</td>${shard.put.map((n, i) => `<td>${n}</td><td>${shard.read[i] ?? 0}</td>`).join('')}<td>${shard.millisBehindMax === null ? 'n/a' : fmt(shard.millisBehindMax, 0)}</td></tr>`)
    .join('\n');
  const stepRows = report.steps
    .map((s) => `<tr><td>${s.step + 1}</td><td>${s.puts?.putCalls ?? 0}</td><td>${s.puts?.kinesisRecords ?? 0}</td><td>${s.puts?.userRecords ?? 0}</td><td>${s.puts?.throttled ?? 0}</td><td>${s.puts?.putUnits ?? 0}</td><td>${s.millisBehindMax === undefined ? 'n/a' : `${fmt(s.millisBehindEnd ?? 0, 0)} / ${fmt(s.millisBehindMax, 0)}`}</td></tr>`)
    .join('\n');
  return `<h2>Kinesis puts and shards</h2>
<p class="meta">${p.putCalls} PutRecords calls; ${p.kinesisRecords} Kinesis records (${p.aggregatedRecords} KPL-aggregated) carrying ${p.userRecords} user records; ${p.putUnits} PUT payload units (25 KB); ${p.throttled} entries throttled (ProvisionedThroughputExceeded), ${p.retried} records sent again, none dropped. Per shard: user records by the put results' ShardId, and as the pipeline read them.</p>
<table>
<tr><th>step</th><th>PutRecords calls</th><th>Kinesis records</th><th>user records</th><th>throttled entries</th><th>PUT units</th><th>MillisBehindLatest end / max (ms)</th></tr>
${stepRows}
</table>
<table>
<tr><th>shard</th>${steps}<th>MillisBehindLatest max (ms)</th></tr>
${rows}
</table>
`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
