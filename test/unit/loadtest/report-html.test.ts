import { describe, expect, it } from 'vitest';
import { CHART_IDS, chartAssets, renderReportHtml } from '../../../src/loadtest/report-html.js';
import { isSustained, recommendFrom } from '../../../src/loadtest/recommend.js';
import type { LoadReport, StepResult } from '../../../src/loadtest/report.js';

function report(): LoadReport {
  const latency = { count: 3000, p50: 5, p90: 8, p99: 20, p999: 30, max: 40, mean: 6 };
  const base = {
    step: 0, targetRate: 1000, durationMs: 3000, intended: 3000, sent: 3000, acked: 3000, failed: 0, throttled: 0, firstError: null,
    putRate: 1000, maxSendDelayMs: 5, meanValueBytes: 500, meanKeyBytes: 12, read: 3000, readRate: 1000, lagEnd: 0, lagMax: 20,
    latency, cpuCores: 0.25, rssMaxMb: 150, heapMaxMb: 60,
  };
  const steps: StepResult[] = [{ ...base, sustained: isSustained(base), overBudget: [] }];
  const { recommendation, sizing } = recommendFrom({ steps, targetRate: 1000, recordBytes: 512 });
  return {
    version: 1, generatedAt: '2026-11-22T00:00:00.000Z', case: '</script><b>x', target: 'kafka://127.0.0.1:9092/load', topicPartitions: 2,
    workload: 'clickstream', seed: 1, keyField: 'page', recordSize: 512, pipeline: 'clickstream', budget: null, steps,
    timeline: [{ t: 1, step: 0, targetRate: 1000, putRate: 1000, readRate: 1000, lag: 0, p50: 5, p90: 8, p99: 20, max: 40, cpuCores: 0.25, rssMb: 150, heapMb: 60 }],
    partitionLoad: [{ partition: 'load/0', records: [1800] }, { partition: 'load/1', records: [1200] }],
    totals: { sent: 3000, acked: 3000, failed: 0, read: 3000, foreign: 0, resultsOut: 10, deadLettered: 0, late: 0, negativeLatencies: 0, warmUpPartitions: 2 },
    drained: true, costByRate: [{ rate: 1000, shards: 1, provisioned: 47.1, onDemand: 330 }], sizing, recommendation,
  };
}

describe('renderReportHtml', () => {
  it('is one self-contained page: uPlot inlined, the data embedded, a place for each chart', async () => {
    const assets = await chartAssets();
    const page = renderReportHtml(report(), assets);
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(assets.script);
    expect(page).toContain(assets.style);
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    for (const id of CHART_IDS) expect(page).toContain(`<div class="chart" id="${id}"></div>`);
    const data = /<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(page)?.[1] ?? '';
    expect((JSON.parse(data) as LoadReport).steps[0]?.read).toBe(3000);
  });

  it('text from the report cannot end a script or add markup', async () => {
    const page = renderReportHtml(report(), await chartAssets());
    expect(page).toContain('Sluice load test: &lt;/script&gt;&lt;b&gt;x');
    expect(page.match(/<\/script>/g)).toHaveLength(3);
  });
});
