/**
 * `sluice loadtest --target kinesis://STREAM` against a real kinesis-local: the clickstream smoke
 * load into a stream of two shards, once one record per event and once KPL-aggregated. Each
 * report must agree with the load driver's own counts, with the put results' shards, and with
 * what the stream holds (read back and de-aggregated); the HTML page must render its charts in a
 * real headless Chromium.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { expectEveryChartDrawn, renderReport } from './report-check.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadtest } from '../../../src/cli/loadtest.js';
import { isAggregated, userRecords } from '../../../src/ingest/kinesis/reader.js';
import { CHART_IDS } from '../../../src/loadtest/report-html.js';
import type { LoadReport } from '../../../src/loadtest/report.js';
import { readStamp } from '../../../src/loadtest/stamp.js';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from '../../support/chromium.js';
import { KINESIS_START_TIMEOUT_MS, useKinesis } from '../../support/kinesis.js';

const kinesis = useKinesis();
const SHARDS = 2;
let dir: string;
let executablePath: string;
const htmlPages: string[] = [];

beforeAll(async () => {
  process.env['SLUICE_KINESIS_ENDPOINT'] = kinesis.endpoint;
  dir = await mkdtemp(join(tmpdir(), 'sluice-loadtest-kinesis-'));
  executablePath = await ensureChromium({ log: (line) => console.error(`chromium: ${line}`) });
}, Math.max(CHROMIUM_INSTALL_TIMEOUT_MS, KINESIS_START_TIMEOUT_MS));
afterAll(async () => {
  delete process.env['SLUICE_KINESIS_ENDPOINT'];
  await rm(dir, { recursive: true, force: true });
});

/** What the stream holds of the measured steps: Kinesis records and user records, per step and per shard. */
async function countStream(stream: string, steps: number): Promise<{ records: number; aggregated: number; users: number[]; byShard: Record<string, number> }> {
  const out = { records: 0, aggregated: 0, users: new Array<number>(steps).fill(0), byShard: {} as Record<string, number> };
  for (const record of await kinesis.readAll(stream)) {
    const users = userRecords({ sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey, data: record.data, arrival: undefined });
    const measured = users.filter((u) => {
      const stamp = readStamp(u.data);
      return stamp !== null && stamp.step < steps; // warm-up records carry step = steps
    });
    if (measured.length === 0) continue;
    out.records++;
    if (isAggregated(record.data)) out.aggregated++;
    for (const u of measured) out.users[(readStamp(u.data) as { step: number }).step]! += 1;
    out.byShard[record.shardId] = (out.byShard[record.shardId] ?? 0) + measured.length;
  }
  return out;
}

/** Runs a case into a new stream of two shards; returns the report, the stream's name and the page. */
async function loadtest(caseDir: string, name: string): Promise<{ report: LoadReport; stream: string; html: string; lines: string[] }> {
  const stream = await kinesis.createStream(SHARDS);
  const lines: string[] = [];
  const result = await runLoadtest({ target: `kinesis://${stream}`, case: caseDir, report: join(dir, name) }, { report: (line) => lines.push(line) });
  const json = JSON.parse(await readFile(join(dir, name, 'report.json'), 'utf8')) as LoadReport;
  // report.json holds the report the command returned
  expect(json.steps.map((s) => [s.acked, s.read, s.puts?.userRecords])).toEqual(result.report.steps.map((s) => [s.acked, s.read, s.puts?.userRecords]));
  expect(json.kinesis).toEqual(result.report.kinesis);
  return { report: result.report, stream, html: result.files?.html ?? '', lines };
}

/** What every Kinesis report must say, aggregated or not. */
function expectCountsAgree(report: LoadReport): void {
  expect(report.topicPartitions).toBe(SHARDS);
  expect(report.steps.map((s) => s.targetRate)).toEqual([300, 900]);
  for (const step of report.steps) {
    // the driver's own counts: every record the schedule asked for was sent and acknowledged
    expect(step.intended).toBe((step.targetRate * step.durationMs) / 1000);
    expect(step.sent).toBe(step.intended);
    expect(step.failed).toBe(0);
    expect(step.acked).toBe(step.sent);
    // the put results account for each acknowledged event once, on the stream's shards
    const puts = step.puts!;
    expect(puts.userRecords).toBe(step.acked);
    expect(Object.values(puts.byShard).reduce((a, b) => a + b, 0)).toBe(step.acked);
    expect(Object.keys(puts.byShard).length).toBeLessThanOrEqual(SHARDS);
    expect(puts.putCalls).toBeGreaterThan(0);
    expect(puts.putUnits).toBeGreaterThanOrEqual(puts.kinesisRecords);
    // throttled entries were sent again, never dropped
    expect(puts.retried).toBeGreaterThanOrEqual(puts.throttled);
    // and the pipeline read each event, counted by the step it was sent in
    expect(step.read).toBe(step.acked);
    expect(step.latency.count).toBe(step.read);
    expect(step.meanValueBytes).toBe(512);
    expect(step.millisBehindMax).toBeGreaterThanOrEqual(0);
  }
  expect(report.drained).toBe(true);
  expect(report.totals.read).toBe(report.totals.acked);
  expect(report.totals.foreign).toBe(0);
  expect(report.totals.warmUpPartitions).toBe(SHARDS);
  expect(report.totals.resultsOut).toBeGreaterThan(0);
  const k = report.kinesis!;
  expect(k.shards).toBe(SHARDS);
  expect(k.puts.userRecords).toBe(report.totals.acked);
  // per shard: what the put results placed there is what the pipeline read from there
  expect(k.shardLoad).toHaveLength(SHARDS);
  for (const shard of k.shardLoad) {
    expect(shard.read).toEqual(shard.put);
    expect(shard.millisBehindMax).not.toBeNull();
  }
  report.steps.forEach((step, i) => {
    expect(report.partitionLoad.reduce((sum, p) => sum + (p.records[i] ?? 0), 0)).toBe(step.read);
  });
  expect(report.timeline.length).toBeGreaterThanOrEqual(6);
  expect(report.timeline.some((t) => t.millisBehindLatest !== undefined)).toBe(true);
  // the recommendation is made from the measured Kinesis figures
  expect(k.measured.shards).toBe(SHARDS);
  expect(k.measured.hotShardFactor).toBeGreaterThanOrEqual(1);
  expect(report.sizing.input.peakFactor).toBe(k.measured.hotShardFactor);
  expect(report.sizing.input.recordSize).toBe(Math.round(k.measured.recordBytes));
  expect(report.recommendation.explanation.join('\n')).toContain("Kinesis, from this run's puts");
}

describe('sluice loadtest against kinesis-local', () => {
  it('one record per event: the report agrees with the driver, the put results and the stream', async () => {
    const { report, stream, html, lines } = await loadtest('test/load/cases/clickstream-smoke', 'plain');
    htmlPages.push(html);
    expect(lines.filter((l) => l.startsWith('sluice loadtest: step'))).toHaveLength(2);
    expectCountsAgree(report);
    const k = report.kinesis!;
    expect(k.aggregate).toBe(false);
    expect(k.puts.kinesisRecords).toBe(k.puts.userRecords);
    expect(k.puts.aggregatedRecords).toBe(0);
    expect(k.measured.userRecordsPerRecord).toBe(1);
    // 512-byte events and short keys: one PUT unit each
    expect(k.puts.putUnits).toBe(k.puts.userRecords);

    const held = await countStream(stream, report.steps.length);
    expect(held.users).toEqual(report.steps.map((s) => s.acked));
    expect(held.records).toBe(k.puts.kinesisRecords);
    expect(held.aggregated).toBe(0);
    expect(held.byShard).toEqual(k.puts.byShard);
  }, 180_000);

  it('--aggregate (the case says so): fewer Kinesis records than events, and the stream de-aggregates to every event', async () => {
    const { report, stream, html } = await loadtest('test/load/cases/clickstream-kinesis-aggregated', 'aggregated');
    htmlPages.push(html);
    expectCountsAgree(report);
    const k = report.kinesis!;
    expect(k.aggregate).toBe(true);
    expect(k.puts.kinesisRecords).toBeLessThan(k.puts.userRecords);
    expect(k.puts.aggregatedRecords).toBeGreaterThan(0);
    expect(k.measured.userRecordsPerRecord).toBeGreaterThan(1);
    expect(k.puts.putUnits).toBeLessThan(k.puts.userRecords);
    // the sizing model is asked for the Kinesis records the events travelled in
    expect(report.sizing.input.rate).toBeCloseTo(900 / k.measured.userRecordsPerRecord, 6);

    const held = await countStream(stream, report.steps.length);
    expect(held.users).toEqual(report.steps.map((s) => s.acked));
    expect(held.records).toBe(k.puts.kinesisRecords);
    expect(held.aggregated).toBe(k.puts.aggregatedRecords);
    expect(held.byShard).toEqual(k.puts.byShard);
  }, 180_000);

  it('report.html of both runs loads in Chromium without errors and every chart draws its data', async () => {
    expect(htmlPages).toHaveLength(2);
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      for (const html of htmlPages) {
        const { errors, charts, text } = await renderReport(browser, html);
        expect(errors).toEqual([]);
        expect(text).toContain('Kinesis puts and shards');
        expectEveryChartDrawn(charts, CHART_IDS);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
