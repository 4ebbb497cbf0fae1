/**
 * `npm run bench -- kafka`: events/s of a Sluice pipeline on a real local Kafka broker
 * (consumer group → parse JSON → keyed tumbling count → Kafka sink) next to a plain kafkajs
 * consumer-group loop that only counts messages, both over the same pre-loaded topic, measured
 * in alternating rounds of one run. Prints a table (or one JSON object with --json); asserts
 * nothing. `--events N` changes the input size (default 400,000). A third side runs the same Sluice
 * pipeline with every value parsed whole (see measureSluice), to show what projection saves.
 *
 * What is timed, on both sides: from the first record the consumer hands over to the moment the
 * run is done with the last one. For kafkajs, "done" is its `eachBatch` having counted every
 * record. For Sluice it is the Kafka sink's acknowledgement of the last window result: a
 * far-future sentinel event at the end of every partition moves all watermarks past the real
 * windows, so that write can only happen once every record was read, parsed, counted and its
 * window's result acknowledged by the broker. Start-up (connect, group join) is printed apart;
 * stopping (group leave, disconnect) is not timed: a Sluice run's stop waits for kafkajs's fetch
 * long-poll on the drained topic (up to its 5 s maxWaitTime), which is most of a round's wall time.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { startKafka, type KafkaBroker } from '../src/dev/kafka/index.js';
import { definePipeline } from '../src/pipeline.js';
import { parseJson, parseJsonBuilds } from '../src/operators/parse-json.js';
import { tumbling } from '../src/windows/assigners.js';
import { count } from '../src/windows/aggregates/index.js';
import { runPipeline, type RunView } from '../src/runtime/run.js';
import { kafkaSource } from '../src/ingest/kafka/index.js';
import { parseKafkaUrl } from '../src/kafka/endpoint.js';
import { openKafkaSink } from '../src/sinks/kafka/index.js';
import type { DeadLetter } from '../src/core/context.js';
import type { Sink } from '../src/core/connectors.js';

const PARTITIONS = 4;
/** Measured rounds per side, after one unmeasured warm-up round of each. */
const ROUNDS = 5;
/** Event padding: with it an event is ~190 bytes of JSON, as in the 0.2 KB case of bench/pipeline.ts. */
const PADDING = 60;
/** A measurement that takes longer than this has hung (a lost group member, a stuck sink). */
const MEASURE_TIMEOUT_MS = 60_000;
const WINDOW = '1m';
const WINDOW_MS = 60_000;
const START = Date.UTC(2026, 10, 1);
/** What each round measures: the kafkajs loop, Sluice as defined, Sluice parsing whole values. */
const SIDES = ['plain', 'sluice', 'whole'] as const;
type Side = (typeof SIDES)[number];

interface Measurement {
  /** From calling the client until the first record arrived (connect, group join, first fetch). */
  readonly startup: number;
  /** From the first record to the end of the last one (see the top of this file). */
  readonly seconds: number;
  /** Node CPU seconds over the same span as `seconds`. */
  readonly cpu: number;
  /** Results written (Sluice only). */
  readonly results: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

const log = (line: string): void => {
  process.stderr.write(`bench kafka: ${line}\n`);
};

/** The kafkajs client both the preloader and the baseline use: silent, as Sluice's own. */
function plainKafka(bootstrap: string, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

async function createTopics(bootstrap: string, topics: readonly string[]): Promise<void> {
  const admin = plainKafka(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces `events` clickstream-like JSON events (the same fields and values as bench/pipeline.ts
 * builds), then one sentinel per partition. Returns the bytes of the real events and how many
 * window results they make (distinct page and minute). The record key is the page, the window
 * key: a consumer-group run's windows are then final per partition (Sluice's `keyed` results),
 * and each key's events are in order in one partition.
 */
async function preload(bootstrap: string, topic: string, events: number): Promise<{ bytes: number; results: number }> {
  const producer = plainKafka(bootstrap, 'bench-preload').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pages = Array.from({ length: 50 }, (_, i) => `/product/${i * 7}`);
  const pad = 'x'.repeat(PADDING);
  const windows = new Set<string>();
  let bytes = 0;
  try {
    // one send at a time: concurrent requests could land out of order within a partition
    const CHUNK = 10_000;
    for (let from = 0; from < events; from += CHUNK) {
      const messages: Message[] = [];
      for (let i = from; i < Math.min(events, from + CHUNK); i++) {
        const userId = `u${(i * 7919) % 100_000}`;
        const page = pages[(i * 31) % pages.length] as string;
        const ts = START + i;
        windows.add(`${page} ${Math.floor(ts / WINDOW_MS)}`);
        const value = JSON.stringify({
          ts,
          userId,
          sessionId: `s${(i * 104_729) % 250_000}`,
          page,
          referrer: i % 3 === 0 ? 'https://search.example/q' : 'direct',
          dwellMs: (i * 37) % 30_000,
          pad,
        });
        bytes += Buffer.byteLength(value);
        messages.push({ key: page, value });
      }
      await producer.send({ topic, messages });
    }
    // after every real event of its partition, a far-future event
    const sentinel = (partition: number): Message => ({
      partition,
      key: `/bench-end/${partition}`,
      value: JSON.stringify({ ts: START + 86_400_000, userId: 'bench-end', page: `/bench-end/${partition}`, pad: '' }),
    });
    await producer.send({ topic, messages: Array.from({ length: PARTITIONS }, (_, p) => sentinel(p)) });
  } finally {
    await producer.disconnect();
  }
  return { bytes, results: windows.size };
}

interface Instant {
  readonly time: number;
  readonly cpu: NodeJS.CpuUsage;
}

const now = (): Instant => ({ time: performance.now(), cpu: process.cpuUsage() });

function between(from: Instant, to: Instant): { seconds: number; cpu: number } {
  return { seconds: (to.time - from.time) / 1000, cpu: (to.cpu.user - from.cpu.user + to.cpu.system - from.cpu.system) / 1e6 };
}

/** Resolves when the first acknowledged write brings the total to `expected`. */
class CountingSink implements Sink {
  readonly description: string;
  written = 0;
  readonly complete: Promise<Instant>;
  private done!: (at: Instant) => void;

  constructor(
    private readonly inner: Sink,
    private readonly expected: number,
  ) {
    this.description = inner.description;
    this.complete = new Promise((resolve) => (this.done = resolve));
  }

  async write(records: readonly unknown[]): Promise<void> {
    await this.inner.write(records);
    this.written += records.length;
    if (this.written >= this.expected) this.done(now());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class CountingDeadLetters implements Sink<DeadLetter> {
  readonly description = 'null:';
  count = 0;
  async write(records: readonly DeadLetter[]): Promise<void> {
    this.count += records.length;
  }
  async close(): Promise<void> {}
}

function timeout(what: string, detail: () => string): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${MEASURE_TIMEOUT_MS / 1000} s (${detail()})`)), MEASURE_TIMEOUT_MS);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** The baseline: a consumer group reading the topic from the start, counting messages. */
async function measureKafkajs(bootstrap: string, topic: string, total: number): Promise<Measurement> {
  const consumer = plainKafka(bootstrap, 'bench-plain').consumer({ groupId: `bench-plain-${randomUUID()}`, allowAutoTopicCreation: false });
  let first: Instant | undefined;
  let seen = 0;
  const limit = timeout('the kafkajs consumer', () => `${seen} of ${total} records seen`);
  let finish!: (end: Instant) => void;
  const finished = new Promise<Instant>((resolve) => (finish = resolve));
  const t0 = performance.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        first ??= now();
        seen += batch.messages.length;
        if (seen >= total) finish(now());
      },
    });
    const end = await Promise.race([finished, limit.promise]);
    const start = first as Instant;
    return { startup: (start.time - t0) / 1000, ...between(start, end), results: 0 };
  } finally {
    limit.cancel();
    await consumer.disconnect();
  }
}

/**
 * Sluice: consumer-group source → parseJson → watermarks → keyBy page → 1-minute count → Kafka
 * sink. As defined, parseJson builds only `ts` and `page` (projection pushdown: nothing else reads
 * the values); with `whole`, it builds every value whole, as it must when an operator after it
 * takes the whole value (a `map`, a key function): the same run with that cost, for comparison.
 */
async function measureSluice(bootstrap: string, input: string, output: string, total: number, expectedResults: number, whole = false): Promise<Measurement> {
  const defined = definePipeline('bench-kafka', (s) =>
    s.parseJson().withWatermarks({ time: 'ts' }).keyBy('page').window({ assign: tumbling(WINDOW), aggregate: { count: count() } }),
  );
  const definition = whole ? { ...defined, before: defined.before.map((op) => (parseJsonBuilds(op) === undefined ? op : (parseJson() as typeof op))) } : defined;
  const source = kafkaSource(parseKafkaUrl(`kafka://${bootstrap}/${input}?group=bench-sluice-${randomUUID()}`, 'source'));
  const sink = new CountingSink(await openKafkaSink(parseKafkaUrl(`kafka://${bootstrap}/${output}`, 'sink')), expectedResults);
  const deadLetter = new CountingDeadLetters();
  const stopper = new AbortController();
  let view: RunView | undefined;
  const limit = timeout('the Sluice pipeline', () => `${sink.written} of ${expectedResults} results written; counters ${JSON.stringify(view?.counters() ?? {})}`);
  let first: Instant | undefined;
  // the first record is seen through the run's counters (a 1 ms poll, only until it arrives)
  const poll = setInterval(() => {
    if ((view?.counters()['events_in'] ?? 0) > 0) {
      first = now();
      clearInterval(poll);
    }
  }, 1);
  const t0 = performance.now();
  const run = runPipeline({ definition, source, sinks: [sink], deadLetter, signal: stopper.signal, view: (v) => (view = v) });
  // a run that ends or fails before the last result is a failed measurement
  const ended = run.then((summary) => {
    throw new Error(`the Sluice run ended before writing every result: ${JSON.stringify(summary.counters)}`);
  });
  try {
    const end = await Promise.race([sink.complete, ended, limit.promise]);
    stopper.abort();
    const summary = await run;
    const read = summary.counters['events_in'] ?? 0;
    if (read < total) throw new Error(`Sluice wrote every result but read only ${read} of ${total} records`);
    if (deadLetter.count > 0 || (summary.counters['late'] ?? 0) > 0) {
      throw new Error(`Sluice rejected records (${deadLetter.count} dead-lettered, ${summary.counters['late'] ?? 0} late): the input is not what the bench expects`);
    }
    if (first === undefined) throw new Error('the first record was never seen');
    return { startup: (first.time - t0) / 1000, ...between(first, end), results: sink.written };
  } finally {
    clearInterval(poll);
    limit.cancel();
    stopper.abort();
    await run.catch(() => undefined);
    ended.catch(() => undefined);
    await sink.close();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const events = Number(argValue('--events') ?? 400_000);
  if (!Number.isSafeInteger(events) || events < 1000) throw new Error(`--events must be a whole number of at least 1000, got '${argValue('--events')}'`);
  const total = events + PARTITIONS; // with one sentinel per partition

  const began = performance.now();
  log('starting a local Kafka broker');
  const broker: KafkaBroker = await startKafka({ log: (line) => log(line) });
  const onSignal = (): void => {
    void broker.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const input = `bench-in-${randomUUID().slice(0, 8)}`;
    const output = `bench-out-${randomUUID().slice(0, 8)}`;
    await createTopics(broker.bootstrap, [input, output]);
    const t = performance.now();
    const { bytes, results } = await preload(broker.bootstrap, input, events);
    log(`preloaded ${events} events (${Math.round(bytes / events)} B each) into ${PARTITIONS} partitions in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const measure = {
      plain: (): Promise<Measurement> => measureKafkajs(broker.bootstrap, input, total),
      sluice: (): Promise<Measurement> => measureSluice(broker.bootstrap, input, output, total, results),
      whole: (): Promise<Measurement> => measureSluice(broker.bootstrap, input, output, total, results, true),
    };
    log('warm-up round');
    for (const side of SIDES) {
      gc();
      await measure[side]();
    }

    const runs: Record<Side, Measurement[]> = { plain: [], sluice: [], whole: [] };
    const ratios: Record<Exclude<Side, 'plain'>, number[]> = { sluice: [], whole: [] };
    const cpuRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // each round in another order, so that no side always runs first or after the same one
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length] as Side);
      const got: Partial<Record<Side, Measurement>> = {};
      for (const side of order) {
        gc();
        got[side] = await measure[side]();
      }
      const p = got.plain as Measurement;
      const s = got.sluice as Measurement;
      const w = got.whole as Measurement;
      runs.plain.push(p);
      runs.sluice.push(s);
      runs.whole.push(w);
      ratios.sluice.push(p.seconds / s.seconds);
      ratios.whole.push(p.seconds / w.seconds);
      cpuRatios.push(p.cpu / s.cpu);
      log(
        `round ${round + 1}/${ROUNDS}: kafkajs ${Math.round(total / p.seconds)} ev/s, Sluice ${Math.round(total / s.seconds)} ev/s (ratio ${(p.seconds / s.seconds).toFixed(3)}), ` +
          `whole values ${Math.round(total / w.seconds)} ev/s (ratio ${(p.seconds / w.seconds).toFixed(3)})`,
      );
    }
    const plainRuns = runs.plain;
    const sluiceRuns = runs.sluice;

    const row = (runs: readonly Measurement[]) => ({
      seconds: Number(median(runs.map((r) => r.seconds)).toFixed(3)),
      startupSeconds: Number(median(runs.map((r) => r.startup)).toFixed(3)),
      eventsPerSec: Math.round(median(runs.map((r) => total / r.seconds))),
      eventsPerCpuSec: Math.round(median(runs.map((r) => total / r.cpu))),
      eventsPerSecRange: [Math.round(Math.min(...runs.map((r) => total / r.seconds))), Math.round(Math.max(...runs.map((r) => total / r.seconds)))],
    });
    const report = {
      bench: 'kafka consumer group → parse → keyed tumbling count → kafka sink, vs a kafkajs consume-only loop',
      node: process.version,
      rounds: ROUNDS,
      partitions: PARTITIONS,
      events: total,
      eventBytes: Math.round(bytes / events),
      results: sluiceRuns[0]?.results ?? 0,
      kafkajs: row(plainRuns),
      sluice: row(sluiceRuns),
      sluiceWholeValues: row(runs.whole),
      ratio: Number(median(ratios.sluice).toFixed(3)),
      ratioRange: [Number(Math.min(...ratios.sluice).toFixed(3)), Number(Math.max(...ratios.sluice).toFixed(3))],
      cpuRatio: Number(median(cpuRatios).toFixed(3)),
      wholeValuesRatio: Number(median(ratios.whole).toFixed(3)),
      totalSeconds: Number(((performance.now() - began) / 1000).toFixed(1)),
    };
    if (json) {
      console.log(JSON.stringify(report));
      return;
    }
    console.log(`Kafka (local broker, ${PARTITIONS} partitions, ${report.eventBytes} B events): Sluice consumer group → parse → keyed tumbling ${WINDOW} count → Kafka sink,`);
    console.log(`vs a plain kafkajs consumer group (eachBatch, count messages, no commits) over the same pre-loaded topic`);
    console.log(`(medians of ${ROUNDS} alternating rounds after a warm-up; timed from the first record to the last record's end: counted (kafkajs),`);
    console.log(` its window result acknowledged by the broker (Sluice); ratio = Sluice ev/s ÷ kafkajs ev/s, median of per-round ratios; ${process.version})`);
    console.log(`Sluice parses only the fields the pipeline reads (ts, page; every record still checked whole); "whole" parses every value whole,`);
    console.log(`as a pipeline with a map or a key function after parseJson does`);
    console.log('side       events   start s   seconds        ev/s   ev/node-cpu-s   (ev/s range)');
    for (const [name, r] of [
      ['kafkajs', report.kafkajs],
      ['Sluice', report.sluice],
      ['whole', report.sluiceWholeValues],
    ] as const) {
      console.log(
        `${name.padEnd(8)} ${String(total).padStart(8)}   ${r.startupSeconds.toFixed(2).padStart(7)}   ${r.seconds.toFixed(2).padStart(7)}   ${String(r.eventsPerSec).padStart(9)}   ${String(r.eventsPerCpuSec).padStart(13)}   (${r.eventsPerSecRange.join('–')})`,
      );
    }
    console.log(`ratio ${report.ratio} (range ${report.ratioRange.join('–')}; target ≥ 0.6); per Node CPU-second ${report.cpuRatio}; whole values ${report.wholeValuesRatio}`);
    console.log(`${report.results} window results written per Sluice run; ${report.totalSeconds} s in all`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    log('stopping the broker');
    await broker.stop();
  }
}

await main();
