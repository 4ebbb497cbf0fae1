import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';

let out: string;
let err: string;
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

/** Runs the CLI in-process; a failure must be exactly one line on stderr, nothing on stdout. */
async function fails(argv: string[], exitCode = 2): Promise<string> {
  const code = await main(argv);
  expect(code).toBe(exitCode);
  expect(out).toBe('');
  const lines = err.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^sluice: /);
  return lines[0] as string;
}

describe('sluice size', () => {
  it('the seed example: 3 shards, provisioned, $32.40 of shard-hours', async () => {
    expect(await main(['size', '--rate', '3000', '--record-size', '1KB'])).toBe(0);
    expect(out).toContain('recommended: provisioned, 3 shards');
    expect(out).toMatch(/2,160 shard-hours × \$0\.015\s+\$32\.40/);
    expect(err).toBe('');
  });

  it('--json prints the whole model', async () => {
    expect(await main(['size', '--rate', '3000', '--record-size', '1024', '--keys', '1000', '--key-skew', '1', '--json'])).toBe(0);
    const result = JSON.parse(out) as { shards: number; evenShards: number; prices: { asOf: string }; input: { keys: number } };
    expect(result.evenShards).toBe(3);
    expect(result.shards).toBeGreaterThan(3);
    expect(result.input.keys).toBe(1000);
    expect(result.prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it.each([
    [['--rate', 'lots', '--record-size', '1KB'], "--rate must be a number of records per second > 0, got 'lots'"],
    [['--rate', '-5', '--record-size', '1KB'], '--rate must be'],
    [['--rate', '100', '--record-size', '1GB'], "--record-size must be a size in bytes such as 1024, 512B, 1KB or 1MB, got '1GB'"],
    [['--rate', '100', '--record-size', '2MB'], '--record-size must be from 1 B to 1 MB'],
    [['--rate', '100', '--record-size', '1KB', '--consumers', '0'], "--consumers must be a whole number ≥ 1, got '0'"],
    [['--rate', '100', '--record-size', '1KB', '--consumers', '25', '--efo'], '--consumers: a stream registers at most 20 enhanced fan-out consumers'],
    [['--rate', '100', '--record-size', '1KB', '--peak-factor', '0.5'], '--peak-factor must be a number ≥ 1'],
    [['--rate', '100', '--record-size', '1KB', '--key-skew', '1'], '--key-skew needs --keys'],
    [['--rate', '100', '--record-size', '1KB', '--keys', 'many'], "--keys must be a whole number ≥ 1, got 'many'"],
    [['--rate', '100', '--record-size', '1KB', '--prices', '/nonexistent/prices.json'], "--prices '/nonexistent/prices.json' cannot be read"],
    [['--rate', '100'], "required option '--record-size <bytes>' not specified"],
    [['--rate', '100', '--record-size', '1KB', '--efficient'], "unknown option '--efficient'"],
  ])('%j → one line naming the flag', async (flags, expected) => {
    expect(await fails(['size', ...flags])).toContain(expected);
  });
});

describe('sluice loadtest: command-line mistakes fail before connecting', () => {
  // nothing listens on port 1: a check that came after connecting would fail differently
  const target = 'kafka://127.0.0.1:1/load';

  it.each([
    ['kinesis://clicks?key=page', "--target 'kinesis://clicks?key=page': the partition key of a load test is an event field, given with --key; remove key="],
    ['kinesis://clicks?start=latest', "--target 'kinesis://clicks?start=latest': 'start' is chosen by the load test"],
    ['kinesis://clicks?aggregate=maybe', "--target 'kinesis://clicks?aggregate=maybe': aggregate must be true or false, got 'maybe'"],
    ['kinesis://no/such', "--target 'kinesis://no/such': write kinesis://STREAM"],
  ])('a Kinesis target %s → one line naming --target', async (url, expected) => {
    expect(await fails(['loadtest', '--target', url, '--rate', '100', '--duration', '3s', '--workload', 'clickstream'])).toContain(expected);
  });

  it('--aggregate is for Kinesis targets', async () => {
    const line = await fails(['loadtest', '--target', target, '--rate', '100', '--duration', '3s', '--workload', 'clickstream', '--aggregate']);
    expect(line).toContain('--aggregate packs records for Kinesis (KPL aggregation)');
  });

  it('a Kinesis stream that is not reachable fails with one line naming the target (exit 1)', async () => {
    const flags = ['--target', 'kinesis://clicks?endpoint=http://127.0.0.1:1', '--rate', '100', '--duration', '3s', '--workload', 'clickstream'];
    expect(await fails(['loadtest', ...flags], 1)).toContain("--target 'kinesis://clicks?endpoint=http://127.0.0.1:1': ");
  }, 30_000);

  it.each([
    [['--target', 'http://x/y', '--rate', '100', '--duration', '3s', '--workload', 'clickstream'], "--target 'http://x/y': write kafka://BROKER[,BROKER]/TOPIC or kinesis://STREAM"],
    [['--target', 'kafka://nohost/t', '--rate', '100', '--duration', '3s', '--workload', 'clickstream'], "--target 'kafka://nohost/t': broker 'nohost' is not HOST:PORT"],
    [['--target', `${target}?key=page`, '--rate', '100', '--duration', '3s', '--workload', 'clickstream'], 'given with --key; remove key='],
    [['--target', target, '--duration', '3s', '--workload', 'clickstream'], '--rate is required (or a --case that sets it)'],
    [['--target', target, '--rate', '100,0', '--duration', '3s', '--workload', 'clickstream'], "--rate must be records per second > 0, or several separated by commas (1000,2000,4000), got '100,0'"],
    [['--target', target, '--rate', '100', '--workload', 'clickstream'], '--duration is required'],
    [['--target', target, '--rate', '100', '--duration', 'soon', '--workload', 'clickstream'], "--duration 'soon' is not a duration"],
    [['--target', target, '--rate', '100', '--duration', '500ms', '--workload', 'clickstream'], '--duration must be at least 1s per step'],
    [['--target', target, '--rate', '100', '--duration', '3s', '--workload', 'logs'], "--workload must be clickstream or telemetry, got 'logs'"],
    [['--target', target, '--rate', '100', '--duration', '3s', '--workload', 'clickstream', '--record-size', 'big'], "--record-size must be a size in bytes"],
    [['--target', target, '--case', '/nonexistent/case'], "--case '/nonexistent/case': cannot read /nonexistent/case/case.json"],
  ])('%j → one line naming the flag', async (flags, expected) => {
    expect(await fails(['loadtest', ...flags])).toContain(expected);
  });

  it('a pipeline module that is not there is unreadable input (exit 1), as for sluice run', async () => {
    const flags = ['--target', target, '--rate', '100', '--duration', '3s', '--workload', 'clickstream', '--pipeline', 'no-such-pipeline'];
    expect(await fails(['loadtest', ...flags], 1)).toContain("cannot read pipeline module 'no-such-pipeline'");
  });
});
