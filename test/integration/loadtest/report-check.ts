/**
 * The browser check of a load-test report, shared by the Kafka and Kinesis load tests: opens
 * report.html in headless Chromium, collects every console error, page error and failed request,
 * and asks each uPlot chart how many points each series has and how many canvas pixels are in
 * its colour — so a test can require that the page loads cleanly and every chart draws its data.
 */
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';

/** One chart as the page drew it. */
export interface DrawnChart {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly series: readonly { readonly points: number; readonly painted: number }[];
}

/** What a report page did: its errors, its charts and its text. */
export interface RenderedReport {
  readonly errors: readonly string[];
  readonly charts: readonly DrawnChart[];
  readonly text: string;
}

/** Loads `htmlPath` in a new page of `browser` and reports what it rendered. */
export async function renderReport(browser: Browser, htmlPath: string): Promise<RenderedReport> {
  const page = await browser.newPage();
  try {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
    const charts = await page.evaluate(() => {
      // the parts of uPlot and of a 2D canvas context this looks at (the test compiles without DOM types)
      interface Plot {
        data: (number | null)[][];
        series: { stroke?: () => string }[];
        ctx: { canvas: { width: number; height: number }; getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
      }
      const list = (globalThis as unknown as { sluiceCharts: { id: string; plot: Plot }[] }).sluiceCharts;
      return list.map(({ id, plot }) => {
        const { width, height } = plot.ctx.canvas;
        const pixels = plot.ctx.getImageData(0, 0, width, height).data;
        // per data series: how many points it has, and how many pixels of the canvas are its colour
        const series = plot.data.slice(1).map((values, i) => {
          const stroke = plot.series[i + 1]?.stroke?.() ?? '';
          const rgb = [1, 3, 5].map((at) => parseInt(stroke.slice(at, at + 2), 16));
          let painted = 0;
          for (let p = 0; p < pixels.length; p += 4) {
            if (pixels[p + 3] === 255 && rgb.every((c, j) => Math.abs((pixels[p + j] as number) - (c as number)) <= 8)) painted++;
          }
          return { points: values.filter((v) => v !== null && Number.isFinite(v)).length, painted };
        });
        return { id, width, height, series };
      });
    });
    return { errors, charts, text: (await page.textContent('body')) ?? '' };
  } finally {
    await page.close();
  }
}

/**
 * The report's charts are `ids`, in order, each with a size, every series with points, and at
 * least one series of each visibly drawn on the canvas.
 */
export function expectEveryChartDrawn(charts: readonly DrawnChart[], ids: readonly string[]): void {
  expect(charts.map((c) => c.id)).toEqual([...ids]);
  for (const chart of charts) {
    expect(chart.width).toBeGreaterThan(0);
    expect(chart.height).toBeGreaterThan(0);
    for (const series of chart.series) expect(series.points).toBeGreaterThan(0);
    expect(Math.max(...chart.series.map((s) => s.painted))).toBeGreaterThan(20);
  }
}
