/**
 * `sluice loadtest` against a real local Kafka broker: the smoke case's two 3-second steps, whose
 * report must agree with the load driver's own counts and with what the topic holds, and whose
 * HTML page must render its charts in a real headless Chromium.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { expectEveryChartDrawn, renderReport } from './report-check.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadtest } from '../../../src/cli/loadtest.js';
import { CHART_IDS } from '../../../src/loadtest/report-html.js';
import type { LoadReport } from '../../../src/loadtest/report.js';
import { readStamp } from '../../../src/loadtest/stamp.js';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from '../../support/chromium.js';
import { useKafka } from '../../support/kafka.js';

const kafka = useKafka();
const PARTITIONS = 3;
let dir: string;
let topic: string;
let report: LoadReport;
let html: string;
let executablePath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-loadtest-'));
  executablePath = await ensureChromium({ log: (line) => console.error(`chromium: ${line}`) });
}, CHROMIUM_INSTALL_TIMEOUT_MS);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Records per step in the topic, counted by a plain consumer from the stamps. */
async function countTopic(expected: number): Promise<number[]> {
  const consumer = kafka.client('loadtest-check').consumer({ groupId: `check-${topic}` });
  const counts: number[] = [];
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const stamp = message.value === null ? null : readStamp(message.value);
          if (stamp === null || stamp.step >= report.steps.length) continue; // warm-up records
          counts[stamp.step] = (counts[stamp.step] ?? 0) + 1;
          seen++;
        }
        if (seen >= expected) done();
      },
    });
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  } finally {
    await consumer.disconnect();
  }
  return counts;
}

describe('sluice loadtest --case test/load/cases/clickstream-smoke against Kafka', () => {
  it('runs both steps and reports what the driver sent and the pipeline read', async () => {
    topic = await kafka.createTopic({ prefix: 'loadtest', partitions: PARTITIONS });
    const lines: string[] = [];
    const result = await runLoadtest(
      { target: `kafka://${kafka.bootstrap}/${topic}`, case: 'test/load/cases/clickstream-smoke', report: join(dir, 'report') },
      { report: (line) => lines.push(line) },
    );
    report = result.report;
    html = result.files?.html ?? '';
    expect(lines.filter((l) => l.startsWith('sluice loadtest: step'))).toHaveLength(2);

    expect(report.case).toBe('clickstream-smoke');
    expect(report.topicPartitions).toBe(PARTITIONS);
    expect(report.steps.map((s) => s.targetRate)).toEqual([300, 900]);
    for (const step of report.steps) {
      // the driver's own counts: every record the schedule asked for was sent and acknowledged
      expect(step.intended).toBe((step.targetRate * step.durationMs) / 1000);
      expect(step.sent).toBe(step.intended);
      expect(step.failed).toBe(0);
      expect(step.acked).toBe(step.sent);
      // and the pipeline read each of them, counted by the step it was sent in
      expect(step.read).toBe(step.acked);
      expect(step.latency.count).toBe(step.read);
      // records were padded to the case's 512 bytes
      expect(step.meanValueBytes).toBe(512);
    }
    expect(report.drained).toBe(true);
    expect(report.totals.read).toBe(report.totals.acked);
    expect(report.totals.foreign).toBe(0);
    expect(report.totals.warmUpPartitions).toBe(PARTITIONS);
    // the pipeline ran for real: window results came out of it
    expect(report.totals.resultsOut).toBeGreaterThan(0);
    // per-partition load adds up to each step's reads, over the topic's partitions
    report.steps.forEach((step, k) => {
      expect(report.partitionLoad.reduce((sum, p) => sum + (p.records[k] ?? 0), 0)).toBe(step.read);
    });
    expect(report.partitionLoad.length).toBeLessThanOrEqual(PARTITIONS);
    expect(report.timeline.length).toBeGreaterThanOrEqual(6);
    expect(report.recommendation.targetRate).toBe(900);
    expect(report.costByRate.map((c) => c.rate)).toEqual([300, 900]);

    // report.json holds the same report
    const json = JSON.parse(await readFile(join(dir, 'report', 'report.json'), 'utf8')) as LoadReport;
    expect(json.steps.map((s) => [s.acked, s.read])).toEqual(report.steps.map((s) => [s.acked, s.read]));

    // what the topic holds, counted by a plain consumer, is what the report says was acknowledged
    expect(await countTopic(report.totals.acked)).toEqual(report.steps.map((s) => s.acked));
  }, 120_000);

  it('report.html loads in Chromium without errors and every chart draws its data', async () => {
    expect(html).not.toBe('');
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      const { errors, charts } = await renderReport(browser, html);
      expect(errors).toEqual([]);
      expectEveryChartDrawn(charts, CHART_IDS);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
