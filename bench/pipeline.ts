/**
 * `npm run bench`: events/s of file → parse → keyed tumbling count → file sink, next to a bare
 * JSON.parse loop over the same lines, measured side by side in one run, for ~0.2 KB and ~1 KB
 * events. Prints a table (or one JSON object with --json). Not part of the tests: it asserts
 * nothing, it measures.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePipeline } from '../src/pipeline.js';
import { tumbling } from '../src/windows/assigners.js';
import { count } from '../src/windows/aggregates/index.js';
import { runPipeline } from '../src/runtime/run.js';
import { fileSource } from '../src/ingest/file/index.js';
import { openFileSink } from '../src/sinks/file/index.js';
import type { DeadLetter } from '../src/core/context.js';
import type { Sink } from '../src/core/connectors.js';

interface Case {
  readonly name: string;
  readonly events: number;
  readonly padding: number;
}

const CASES: Case[] = [
  { name: '0.2 KB', events: 600_000, padding: 60 },
  { name: '1 KB', events: 200_000, padding: 860 },
];
/** Rounds alternate which side runs first; the ratio is the median of per-round ratios, which
 * cancels most of the drift a shared machine adds between rounds. */
const ROUNDS = 5;

function makeFile(dir: string, c: Case): { path: string; bytes: number } {
  const pages = Array.from({ length: 50 }, (_, i) => `/product/${i * 7}`);
  const lines: string[] = [];
  const start = Date.UTC(2026, 10, 1);
  const pad = 'x'.repeat(c.padding);
  for (let i = 0; i < c.events; i++) {
    lines.push(
      JSON.stringify({
        ts: start + i,
        userId: `u${(i * 7919) % 100_000}`,
        sessionId: `s${(i * 104_729) % 250_000}`,
        page: pages[(i * 31) % pages.length],
        referrer: i % 3 === 0 ? 'https://search.example/q' : 'direct',
        dwellMs: (i * 37) % 30_000,
        pad,
      }),
    );
  }
  const text = lines.join('\n') + '\n';
  const path = join(dir, `events-${c.padding}.jsonl`);
  writeFileSync(path, text);
  return { path, bytes: Buffer.byteLength(text) };
}

class NullSink implements Sink<DeadLetter> {
  readonly description = 'null:';
  async write(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The baseline: JSON.parse over the file's lines, already split in memory (not timed). The
 * lines are read per round and dropped after, so neither side runs with the other's heap. */
function measureParse(path: string): { seconds: number; cpu: number } {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.pop();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let keep = 0;
  for (let i = 0; i < lines.length; i++) {
    const value = JSON.parse(lines[i] as string) as { dwellMs: number };
    keep += value.dwellMs;
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  if (keep === -1) console.log(keep); // keeps the loop from being optimised away
  return { seconds, cpu: (used.user + used.system) / 1e6 };
}

async function measurePipeline(path: string, out: string): Promise<{ seconds: number; cpu: number; results: number }> {
  const definition = definePipeline('bench', (s) =>
    s.parseJson().withWatermarks({ time: 'ts' }).keyBy('page').window({ assign: tumbling('1m'), aggregate: { count: count() } }),
  );
  const sink = await openFileSink({ path: out });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runPipeline({ definition, source: fileSource({ path }), sinks: [sink], deadLetter: new NullSink() });
  await sink.close();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  return { seconds, cpu: (used.user + used.system) / 1e6, results: summary.counters['results_out'] ?? 0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const report: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      const { path, bytes } = makeFile(dir, c);
      const parse: number[] = [];
      const pipe: number[] = [];
      const pipeCpu: number[] = [];
      const ratios: number[] = [];
      let results = 0;
      const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
      // one unmeasured round first, so both sides run with warm JIT and file cache
      measureParse(path);
      await measurePipeline(path, join(dir, 'out.jsonl'));
      for (let round = 0; round < ROUNDS; round++) {
        let parseRate = 0;
        const runParse = (): void => {
          gc();
          parseRate = c.events / measureParse(path).seconds;
        };
        if (round % 2 === 0) runParse();
        gc();
        const p = await measurePipeline(path, join(dir, 'out.jsonl'));
        if (round % 2 === 1) runParse();
        parse.push(parseRate);
        pipe.push(c.events / p.seconds);
        pipeCpu.push(c.events / p.cpu);
        ratios.push(c.events / p.seconds / parseRate);
        results = p.results;
      }
      const expected = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').length;
      const row = {
        case: c.name,
        eventBytes: Math.round(bytes / c.events),
        events: c.events,
        results,
        resultLinesWritten: expected,
        jsonParseEventsPerSec: Math.round(median(parse)),
        pipelineEventsPerSec: Math.round(median(pipe)),
        pipelineEventsPerCpuSec: Math.round(median(pipeCpu)),
        ratio: Number(median(ratios).toFixed(3)),
        ratioRange: [Number(Math.min(...ratios).toFixed(3)), Number(Math.max(...ratios).toFixed(3))],
      };
      report.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    console.log(JSON.stringify({ bench: 'file→parse→keyed tumbling count→file', rounds: ROUNDS, node: process.version, cases: report }));
    return;
  }
  console.log(`file → parse → keyed tumbling count → file sink, vs a bare JSON.parse loop over the same lines in memory`);
  console.log(`(medians of ${ROUNDS} alternating rounds; ratio = median of per-round ratios; ${process.version}, ${process.execArgv.join(' ')})`);
  console.log('case     bytes/event   JSON.parse ev/s   pipeline ev/s   pipeline ev/cpu-s   ratio   (range)');
  for (const r of report) {
    console.log(
      `${String(r['case']).padEnd(8)} ${String(r['eventBytes']).padStart(11)}   ${String(r['jsonParseEventsPerSec']).padStart(15)}   ${String(r['pipelineEventsPerSec']).padStart(13)}   ${String(r['pipelineEventsPerCpuSec']).padStart(17)}   ${String(r['ratio']).padStart(5)}   (${(r['ratioRange'] as number[]).join('–')})`,
    );
  }
}

// `npm run bench -- kafka`: the Kafka benchmark instead (bench/kafka.ts)
if (process.argv[2] === 'kafka') await import('./kafka.js');
else await main();
