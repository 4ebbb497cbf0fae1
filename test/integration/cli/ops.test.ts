import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useKafka } from '../../support/kafka.js';
import { sleep, start, type Running } from '../recovery/recovery.js';
import { ensureBuilt, expectOneLineError, lines, ROOT, scratch, sluice, writeJsonl } from './cli.js';

// The operations surface of a running `sluice`: /healthz, /readyz and /metrics over HTTP
// (--ops-port), and JSON logs (--log-format json).

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

const running: Running[] = [];
const launch = (args: readonly string[]): Running => {
  const run = start(args);
  running.push(run);
  return run;
};
afterEach(async () => {
  for (const run of running.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await run.exited;
  }
});

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, runs: readonly Running[]): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; stderr: ${runs.map((r) => r.stderr()).join('\n---\n')}`);
}

/**
 * The endpoints' address, from the start-up line `--ops-port 0` makes worth reading — as soon as
 * it is written, so the first probe sees the run before its partitions are assigned.
 */
function opsUrl(run: Running): Promise<string> {
  const find = (): string | undefined => /operations endpoints on (http:\/\/\S+)/.exec(run.stderr())?.[1];
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const url = find();
      if (url === undefined) return;
      run.child.stderr?.off('data', check);
      resolve(url);
    };
    // registered after start()'s own listener, so the chunk is already in stderr()
    run.child.stderr?.on('data', check);
    void run.exited.then(() => reject(new Error(`sluice exited before serving its endpoints: ${run.stderr()}`)));
    check();
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

interface ReadyBody {
  readonly ready: boolean;
  readonly reason: string;
  readonly partitions: readonly { partition: string; eventsIn: number; lag: number | null }[];
}

async function ready(url: string): Promise<{ status: number; body: ReadyBody }> {
  const { status, body } = await get(`${url}/readyz`);
  return { status, body: JSON.parse(body) as ReadyBody };
}

/** The value of the one sample of `name` whose labels include `labels` in a Prometheus exposition. */
function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const found = lines(text).filter((line) => {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (m === null || m[1] !== name) return false;
    return Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
  });
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}:\n${found.join('\n')}`);
  return found[0] === undefined ? undefined : Number(found[0].split(' ').at(-1));
}

const BASE = Date.UTC(2026, 0, 1);
const OUT_OF_ORDERNESS_MS = 3000;

/** Events one partition apart in time by 100 ms, over 7 keys: tumbling 10 s windows fire as it goes. */
function events(count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ k: `k${i % 7}`, t: BASE + i * 100, v: i }));
}

/** A pipeline module, as a user would write one: parse, watermarks, key, 10 s tumbling count. */
async function pipelineModule(): Promise<string> {
  const index = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;
  const path = join(dir, 'ops-counts.mjs');
  await writeFile(
    path,
    `import { definePipeline, tumbling, count } from ${JSON.stringify(index)};\n` +
      `export default definePipeline('ops-counts', (s) =>\n` +
      `  s.parseJson().withWatermarks({ time: 't', maxOutOfOrderness: ${OUT_OF_ORDERNESS_MS} }).keyBy('k').window({ assign: tumbling('10s'), aggregate: { n: count() } }),\n` +
      `);\n`,
  );
  return path;
}

describe('sluice with --log-format json', () => {
  it('writes its start-up and summary lines as pino JSON carrying the pipeline', async () => {
    const input = await writeJsonl(join(dir, 'json-log.jsonl'), events(300));
    const result = await sluice(
      ['aggregate', '--source', `file:${input}`, '--sink', `file:${join(dir, 'json-log.out.jsonl')}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--name', 'json-log', '--ops-port', '0'],
      { env: { SLUICE_LOG_FORMAT: 'json' } },
    );
    expect(result.code, result.stderr).toBe(0);
    const logged = result.errLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.map((entry) => [entry['level'], entry['pipeline']])).toEqual([
      ['info', 'json-log'],
      ['info', 'json-log'],
    ]);
    const [started, summary] = logged as [Record<string, unknown>, Record<string, unknown>];
    expect(started['msg']).toMatch(/^started pipeline 'json-log'; operations endpoints on http:\/\/127\.0\.0\.1:\d+/);
    expect(started['source']).toBe(`file:${input}`);
    expect(summary).toMatchObject({ eventsIn: 300, late: 0, deadLettered: 0, partitions: 1, stopped: false });
    expect(summary['msg']).toMatch(/^300 events in, \d+ results out, 0 late, 0 dead-lettered from 1 partition in /);
  });

  it('is refused with one line when the format is unknown', async () => {
    const result = await sluice(['aggregate', '--source', 'file:x.jsonl', '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--log-format', 'xml']);
    expect(expectOneLineError(result, 2)).toContain("'--log-format <format>' argument 'xml' is invalid. Allowed choices are text, json.");
  });
});

describe('CloudWatch EMF', () => {
  const args = async (name: string): Promise<string[]> => {
    const input = await writeJsonl(join(dir, `${name}.jsonl`), events(250));
    return ['aggregate', '--source', `file:${input}`, '--sink', `file:${join(dir, `${name}.out.jsonl`)}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--name', name];
  };

  it('goes to stderr as one EMF document before the summary when running on ECS', async () => {
    const result = await sluice(await args('emf'), { env: { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/test' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines).toHaveLength(2);
    const doc = JSON.parse(result.errLines[0] ?? '{}') as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }; [k: string]: unknown };
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Sluice', Dimensions: [['Pipeline']] });
    expect(doc).toMatchObject({ Pipeline: 'emf', EventsIn: 250, DeadLettered: 0, AssignedPartitions: 1 });
    expect(result.errLines[1]).toMatch(/^sluice: 250 events in, /);
  });

  it('is not written anywhere else', async () => {
    const result = await sluice(await args('no-emf'), { env: { ECS_CONTAINER_METADATA_URI_V4: '' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.errLines).toHaveLength(1);
    expect(result.errLines[0]).toMatch(/^sluice: 250 events in, /);
  });
});

describe('--ops-port', () => {
  let taken: Server;
  beforeAll(() => new Promise<void>((resolve) => (taken = createServer().listen(0, '127.0.0.1', resolve))));
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('names the address when the port is taken, with one line and exit code 2', async () => {
    const port = (taken.address() as { port: number }).port;
    const input = await writeJsonl(join(dir, 'taken.jsonl'), events(10));
    const result = await sluice(['aggregate', '--source', `file:${input}`, '--key', 'k', '--time', 't', '--window', 'tumbling:10s', '--ops-port', String(port)]);
    expect(expectOneLineError(result, 2)).toBe(`sluice: cannot serve the operations endpoints on 127.0.0.1:${port} (--ops-host/--ops-port): the port is in use`);
  });
});

describe('sluice run --ops-port over a Kafka consumer group', () => {
  const kafka = useKafka();

  async function produce(topic: string, values: readonly string[]): Promise<void> {
    const producer = kafka.client().producer();
    await producer.connect();
    try {
      for (let i = 0; i < values.length; i += 500) await producer.send({ topic, messages: values.slice(i, i + 500).map((value) => ({ partition: 0, value })) });
    } finally {
      await producer.disconnect();
    }
  }

  it('is ready once the partition is assigned, counts what was produced, keeps an idle worker as a ready standby, and checkpoints on SIGTERM', async () => {
    const topic = await kafka.createTopic({ partitions: 1 });
    const produced = events(2000);
    await produce(topic, produced);
    const module = await pipelineModule();
    const ck = join(dir, 'group.ck');
    const worker = (out: string): string[] => [
      'run',
      module,
      '--source',
      `kafka://${kafka.bootstrap}/${topic}?group=ops&session-timeout=6s`,
      '--sink',
      `file:${join(dir, out)}`,
      '--checkpoint',
      `file:${ck}`,
      '--checkpoint-interval',
      '1h',
      '--ops-port',
      '0',
    ];

    // one worker: 503 from the moment it answers until the group assigns it the partition
    const a = launch(worker('a.jsonl'));
    const urlA = await opsUrl(a);
    const seen: { status: number; body: ReadyBody }[] = [];
    await waitFor(
      async () => {
        const state = await ready(urlA);
        seen.push(state);
        return state.status === 200 ? state : undefined;
      },
      'the first worker to be ready',
      [a],
    );
    const first = seen[0] as { status: number; body: ReadyBody };
    expect(first.status).toBe(503);
    expect(first.body.ready).toBe(false);
    expect(first.body.reason).toMatch(/^(starting|waiting for the consumer group|taking over)/);
    expect(await get(`${urlA}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    const readyA = seen.at(-1) as { status: number; body: ReadyBody };
    expect(readyA.body).toMatchObject({ ready: true, reason: 'reading 1 partition' });
    expect(readyA.body.partitions.map((p) => p.partition)).toEqual([`${topic}/0`]);

    // /metrics: events in = records produced; lag, watermark, windows and sink writes follow
    const labels = { pipeline: 'ops-counts' };
    const metricsA = await waitFor(
      async () => {
        const { body } = await get(`${urlA}/metrics`);
        const results = sample(body, 'sluice_results_out_total', labels) ?? 0;
        const acknowledged = sample(body, 'sluice_sink_records_total', { ...labels, role: 'result' });
        return sample(body, 'sluice_events_in_total', labels) === produced.length && results > 0 && acknowledged === results ? body : undefined;
      },
      'every record read and every result written',
      [a],
    );
    const partition = { ...labels, partition: `${topic}/0` };
    expect(sample(metricsA, 'sluice_partition_events_in_total', partition)).toBe(produced.length);
    expect(sample(metricsA, 'sluice_partition_lag_records', partition)).toBe(0);
    const newest = BASE + (produced.length - 1) * 100;
    expect(sample(metricsA, 'sluice_partition_watermark_seconds', partition)).toBe((newest - OUT_OF_ORDERNESS_MS - 1) / 1000);
    expect(sample(metricsA, 'sluice_watermark_seconds', labels)).toBe((newest - OUT_OF_ORDERNESS_MS - 1) / 1000);
    // 10 s windows over 200 s of events, 7 keys: every window before the watermark has fired
    expect(sample(metricsA, 'sluice_windows_fired_total', labels)).toBe(sample(metricsA, 'sluice_results_out_total', labels));
    expect(sample(metricsA, 'sluice_windows_fired_total', labels)).toBe(19 * 7);
    expect(sample(metricsA, 'sluice_sink_write_seconds_count', { ...labels, role: 'result' })).toBeGreaterThan(0);
    expect(sample(metricsA, 'sluice_dead_lettered_total', labels)).toBe(0);
    expect(sample(metricsA, 'sluice_late_total', labels)).toBe(0);
    expect(sample(metricsA, 'sluice_assigned_partitions', labels)).toBe(1);
    expect(sample(metricsA, 'sluice_ready', labels)).toBe(1);
    expect(sample(metricsA, 'sluice_last_checkpoint_id', labels)).toBeGreaterThanOrEqual(0);

    // a second worker in the group of a one-partition topic: one reads, the other stands by
    const b = launch(worker('b.jsonl'));
    const urlB = await opsUrl(b);
    const settled = await waitFor(
      async () => {
        const states = [await ready(urlA), await ready(urlB)];
        const reading = states.filter((s) => s.body.partitions.length === 1 && s.body.reason === 'reading 1 partition');
        const standby = states.filter((s) => s.body.partitions.length === 0 && s.body.reason.startsWith('standby'));
        return reading.length === 1 && standby.length === 1 ? states : undefined;
      },
      'one worker reading and one standing by',
      [a, b],
    );
    for (const state of settled) expect(state.status).toBe(200);
    const idle = settled.find((s) => s.body.partitions.length === 0) as { body: ReadyBody };
    expect(idle.body.reason).toBe('standby: no partitions assigned to this worker; the group has more workers than partitions (the topic has 1 partition)');
    const holder = settled[0]?.body.partitions.length === 1 ? a : b;
    const holderUrl = holder === a ? urlA : urlB;
    const idleMetrics = (await get(`${holder === a ? urlB : urlA}/metrics`)).body;
    expect(sample(idleMetrics, 'sluice_assigned_partitions', labels)).toBe(0);
    expect(sample(idleMetrics, 'sluice_ready', labels)).toBe(1);

    // more input reaches whoever holds the partition
    await produce(topic, events(2100).slice(2000));
    const eventsIn = async (url: string): Promise<number> => sample((await get(`${url}/metrics`)).body, 'sluice_events_in_total', labels) ?? 0;
    await waitFor(
      async () => ((await eventsIn(urlA)) + (await eventsIn(urlB)) >= 2100 && (await ready(holderUrl)).body.partitions[0]?.lag === 0 ? true : undefined),
      'the holder to read the new records',
      [a, b],
    );

    // SIGTERM: both finish within --shutdown-timeout (else exit 1) and the holder checkpoints
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code, a.stderr()).toBe(0);
    expect((await b.exited).code, b.stderr()).toBe(0);
    const summary = lines(holder.stderr()).at(-1) ?? '';
    expect(summary).toMatch(/^sluice: \d+ events in, \d+ results out, 0 late, 0 dead-lettered from 1 partition in [\d.]+ s, stopped before the end of input.*, checkpoint \d+ saved$/);
    for (const run of [a, b]) {
      // normal operation: the start-up line and the summary, nothing else
      expect(lines(run.stderr()), run.stderr()).toHaveLength(2);
    }
  }, 180_000);
});
