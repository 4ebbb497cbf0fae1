import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bindLoopbackPort } from '../../../src/dev/common/service.js';
import { decodeCaptureLine, valueBytes } from '../../../src/replay/capture-format.js';
import { KAFKA_START_TIMEOUT_MS, useKafka, type TestKafka } from '../../support/kafka.js';
import { ensureBuilt, expectOneLineError, lines, scratch, sluice, writeJsonl, type CliResult } from '../cli/cli.js';
import { startForeground } from './cli-runs.js';

// SASL/SCRAM on a real broker: results written and read back through the CLI over SCRAM-SHA-512
// and SCRAM-SHA-256 with the password from SLUICE_KAFKA_PASSWORD; a wrong password, or a
// mechanism the user has no credentials for, ends the run with one line naming the mechanism and
// never the password; and `sluice dev kafka --scram` as a user runs it.

const USER = 'sluice-app';
/**
 * With a ':' (`--scram USER:PASSWORD` splits at the first one), and a '"' and a ']' that
 * `kafka-storage format --add-scram` must take as part of the password.
 */
const PASSWORD = `pw:"${randomUUID()}]`;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());
// the CLI inherits this process's environment; each test sets SLUICE_KAFKA_PASSWORD itself
afterEach(() => vi.unstubAllEnvs());

type Mechanism = 'scram-sha-256' | 'scram-sha-512';

/** A sink or source URL for the SASL listener; the password comes from the environment unless given. */
function saslUrl(bootstrap: string, topic: string, mechanism: Mechanism, extra = ''): string {
  return `kafka://${bootstrap}/${topic}?sasl=${mechanism}&username=${USER}${extra}`;
}

/** Runs `sluice aggregate` from a small clickstream file (written as `name`.jsonl) into `sinks`. */
async function aggregate(name: string, ...sinks: string[]): Promise<CliResult> {
  const events = Array.from({ length: 120 }, (_, i) => ({ page: `/p${i % 7}`, ts: i * 500, userId: `u${i % 9}` }));
  const input = await writeJsonl(join(dir, `${name}.jsonl`), events);
  const args = ['aggregate', '--source', `file:${input}`, ...sinks.flatMap((s) => ['--sink', s]), '--key', 'page', '--time', 'ts', '--window', 'tumbling:10s', '--agg', 'count'];
  return sluice(args);
}

/** `sluice record` of `limit` records from a Kafka URL; returns the record values. */
async function recordValues(url: string, limit: number): Promise<string[]> {
  const out = join(dir, `record-${randomUUID().slice(0, 8)}.jsonl`);
  const result = await sluice(['record', '--source', url, '--out', out, '--limit', String(limit), '--duration', '60s']);
  expect(result.code, result.stderr).toBe(0);
  expectNoPassword(result);
  return lines(await readFile(out, 'utf8')).map((line, i) => valueBytes(decodeCaptureLine(line, `line ${i + 1}`).value)?.toString('utf8') ?? '');
}

/** Records in the topic, read on the plain listener: the sum of its partitions' high watermarks. */
async function recordCount(kafka: TestKafka, topic: string): Promise<number> {
  const admin = kafka.client().admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

function expectNoPassword(result: CliResult, password = PASSWORD): void {
  expect(result.stdout).not.toContain(password);
  expect(result.stderr).not.toContain(password);
}

/** `HOST:PORT` as a regular expression matching just that text. */
function literal(address: string): string {
  return address.replaceAll('.', '\\.');
}

/** The one line a rejected password gives, for `bootstrap` and `mechanism`. */
function rejectedLine(bootstrap: string, mechanism: Mechanism): RegExp {
  const upper = mechanism.toUpperCase();
  return new RegExp(`^sluice: Kafka at ${literal(bootstrap)} rejected the credentials of user '${USER}' for SASL/${upper}: .*\\b${upper} credentials; check the user name and the password`);
}

describe('Kafka with SASL/SCRAM (a user with SCRAM-SHA-256 and SCRAM-SHA-512 credentials)', () => {
  const kafka = useKafka({ scram: { username: USER, password: PASSWORD } });

  it('writes results over SCRAM-SHA-512 and records them back over SCRAM-SHA-512, as the file sink has them', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-512', partitions: 2 });
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', PASSWORD);
    const out = join(dir, 'sha512.out.jsonl');
    const written = await aggregate('sha512', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-512'), `file:${out}`);
    expect(written.code, written.stderr).toBe(0);
    expectNoPassword(written);
    const fileLines = lines(await readFile(out, 'utf8'));
    expect(fileLines.length).toBeGreaterThan(10);

    const recorded = await recordValues(saslUrl(kafka.saslBootstrap, topic, 'scram-sha-512'), fileLines.length);
    expect(recorded.sort()).toEqual([...fileLines].sort());
  });

  it('writes results over SCRAM-SHA-256, the same records the plain listener then serves', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-256' });
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', PASSWORD);
    const out = join(dir, 'sha256.out.jsonl');
    const written = await aggregate('sha256', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-256'), `file:${out}`);
    expect(written.code, written.stderr).toBe(0);
    expectNoPassword(written);
    const fileLines = lines(await readFile(out, 'utf8'));

    const recorded = await recordValues(`kafka://${kafka.bootstrap}/${topic}`, fileLines.length);
    expect(recorded).toEqual(fileLines);
  });

  it('fails a sink with one line naming SCRAM-SHA-512 when the password is wrong, and writes nothing', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-wrong' });
    const wrong = `wrong-${randomUUID()}`;
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', wrong);
    const result = await aggregate('wrong-sink', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-512'));
    const line = expectOneLineError(result, 1);
    expect(line).toMatch(rejectedLine(kafka.saslBootstrap, 'scram-sha-512'));
    expect(result.stdout).toBe('');
    expectNoPassword(result, wrong);
    expect(await recordCount(kafka, topic)).toBe(0);
  });

  it('fails a source with the same one line when a wrong password is in the URL, which stays out of it', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-wrong-source' });
    const wrong = `wrong-${randomUUID()}`;
    const out = join(dir, 'wrong-source.jsonl');
    const result = await sluice(['record', '--source', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-512', `&password=${wrong}`), '--out', out, '--limit', '1']);
    const line = expectOneLineError(result, 1);
    expect(line).toMatch(rejectedLine(kafka.saslBootstrap, 'scram-sha-512'));
    expectNoPassword(result, wrong);
  });

  it('names the mismatch in one line when a listener does not offer the mechanism, or takes no SASL at all', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-mismatch' });
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', PASSWORD);
    const plain = await aggregate('mismatch-plain', `kafka://${kafka.saslBootstrap}/${topic}?sasl=plain&username=${USER}`);
    expect(expectOneLineError(plain, 1)).toMatch(new RegExp(`^sluice: Kafka at ${literal(kafka.saslBootstrap)} does not offer SASL/PLAIN on this listener \\(`));
    const noSasl = await aggregate('mismatch-no-sasl', saslUrl(kafka.bootstrap, topic, 'scram-sha-512'));
    expect(expectOneLineError(noSasl, 1)).toMatch(new RegExp(`^sluice: Kafka at ${literal(kafka.bootstrap)} takes no SASL on this listener, so SASL/SCRAM-SHA-512 failed`));
    for (const result of [plain, noSasl]) expectNoPassword(result);
    expect(await recordCount(kafka, topic)).toBe(0);
  });
});

describe('Kafka with SASL/SCRAM (a user with SCRAM-SHA-512 credentials only, as MSK keeps them)', () => {
  const kafka = useKafka({ scram: { username: USER, password: PASSWORD, mechanism: 'SCRAM-SHA-512' } });

  it('rejects the right password over SCRAM-SHA-256 with one line naming SCRAM-SHA-256, and takes it over SCRAM-SHA-512', async () => {
    const topic = await kafka.createTopic({ prefix: 'auth-only-512' });
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', PASSWORD);
    const refused = await aggregate('only-512-refused', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-256'));
    expect(expectOneLineError(refused, 1)).toMatch(rejectedLine(kafka.saslBootstrap, 'scram-sha-256'));
    expectNoPassword(refused);
    expect(await recordCount(kafka, topic)).toBe(0);

    const out = join(dir, 'only-512.out.jsonl');
    const taken = await aggregate('only-512-taken', saslUrl(kafka.saslBootstrap, topic, 'scram-sha-512'), `file:${out}`);
    expect(taken.code, taken.stderr).toBe(0);
    const results = lines(await readFile(out, 'utf8')).length;
    expect(results).toBeGreaterThan(10);
    expect(await recordCount(kafka, topic)).toBe(results);
  });
});

describe('sluice dev kafka --scram', () => {
  it('prints both addresses but not the password, serves SCRAM clients on the SASL port, and stops cleanly on SIGTERM', async () => {
    const saslPort = await bindLoopbackPort();
    const dev = await startForeground(['dev', 'kafka', '--scram', `${USER}:${PASSWORD}`, '--sasl-port', String(saslPort)]);
    try {
      const m = /^sluice: Kafka is running at (127\.0\.0\.1:\d+), and with SASL\/SCRAM-SHA-256 or -512 as '([^']+)' at (127\.0\.0\.1:\d+) \(Ctrl-C stops it\)\n$/.exec(dev.stderr());
      expect(m, dev.stderr()).not.toBeNull();
      const [, plain = '', user, sasl = ''] = m ?? [];
      expect(user).toBe(USER);
      expect(sasl).toBe(`127.0.0.1:${saslPort}`);
      expect(plain).not.toBe(sasl);

      for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
        expect(await brokersSeenBy(sasl, { mechanism, username: USER, password: PASSWORD })).toEqual([sasl]);
      }
      await expect(brokersSeenBy(sasl, { mechanism: 'scram-sha-512', username: USER, password: 'not-it' })).rejects.toThrow(/invalid credentials/);

      dev.child.kill('SIGTERM');
      expect(await dev.exited).toEqual({ code: 0, signal: null });
      expect(dev.stdout()).toBe('');
      expect(lines(dev.stderr())).toHaveLength(1);
      expect(dev.stderr()).not.toContain(PASSWORD);
    } finally {
      if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
    }
  }, KAFKA_START_TIMEOUT_MS);

  it('refuses --scram without a password in one line that names the user only', async () => {
    vi.stubEnv('SLUICE_KAFKA_PASSWORD', '');
    const line = expectOneLineError(await sluice(['dev', 'kafka', '--scram', USER]), 2);
    expect(line).toBe(`sluice: --scram needs a password for '${USER}': write --scram ${USER}:PASSWORD, or set SLUICE_KAFKA_PASSWORD`);
  });
});

/** The brokers `describeCluster` lists to a client that authenticates at `bootstrap` with `sasl`. */
async function brokersSeenBy(bootstrap: string, sasl: SASLOptions): Promise<string[]> {
  const admin = new Kafka({ clientId: 'sluice-auth-test', brokers: [bootstrap], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.map((b) => `${b.host}:${b.port}`);
  } finally {
    await admin.disconnect();
  }
}
