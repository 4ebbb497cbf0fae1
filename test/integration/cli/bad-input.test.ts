import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, lockFile, scratch, sluice, writeJsonl } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let events: string;

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = await scratch());
  events = await writeJsonl(join(dir, 'events.jsonl'), [{ k: 'a', t: 1000, v: 1 }]);
});
afterAll(() => cleanup());

/** `aggregate` with every required flag; `over` replaces or adds flags. */
function aggregate(over: Record<string, string | undefined> = {}, extra: string[] = []): string[] {
  const flags: Record<string, string | undefined> = { '--source': `file:${events}`, '--key': 'k', '--time': 't', '--window': 'tumbling:10s', ...over };
  const args = ['aggregate'];
  for (const [flag, value] of Object.entries(flags)) if (value !== undefined) args.push(flag, value);
  return [...args, ...extra];
}

describe('sluice aggregate: command-line mistakes (exit 2, one line, no stack)', () => {
  it('an unknown flag is named, with the right one suggested', async () => {
    const result = await sluice(aggregate({}, ['--windw', 'tumbling:5s']));
    const line = expectOneLineError(result, 2);
    expect(line).toContain("'--windw'");
    expect(line).toContain('--window');
    expect(result.stdout).toBe('');
  });

  it('a missing required flag is named', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--window': undefined })), 2);
    expect(line).toContain('--window');
    expect(line).toMatch(/required/);
  });

  it('a source without a scheme is explained, with the file: form', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--source': 'events.jsonl' })), 2);
    expect(line).toContain("'events.jsonl'");
    expect(line).toContain('file:events.jsonl');
  });

  it('an unsupported scheme is named, with what is supported', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--source': 'pulsar://clicks' })), 2);
    expect(line).toContain("'pulsar:'");
    expect(line).toContain('kinesis://');
    expect(line).toContain('file:');
    expect(line).toContain('kafka://');
  });

  it('a kafka URL without a HOST:PORT broker says so', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--source': 'kafka://b/t?group=g' })), 2);
    expect(line).toBe("sluice: --source 'kafka://b/t?group=g': broker 'b' is not HOST:PORT");
  });

  it('a kafka source without a consumer group asks for one', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--source': 'kafka://127.0.0.1:9092/t' })), 2);
    expect(line).toBe("sluice: --source 'kafka://127.0.0.1:9092/t': a Kafka source needs a consumer group: add ?group=NAME");
  });

  it('a window size without a unit asks for one', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--window': 'tumbling:60' })), 2);
    expect(line).toContain("'60'");
    expect(line).toMatch(/needs a unit/);
  });

  it('an unknown window type is named, with the accepted forms', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--window': 'hopping:1m' })), 2);
    expect(line).toContain("'hopping'");
    expect(line).toContain('sliding:SIZE/SLIDE');
  });

  it('a sliding window whose slide is longer than its size is refused', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--window': 'sliding:1m/5m' })), 2);
    expect(line).toMatch(/slide 5m is longer than its size 1m/);
  });

  it('a bad duration is named with its flag', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--max-out-of-orderness': '5x' })), 2);
    expect(line).toContain('--max-out-of-orderness');
    expect(line).toContain("'5x'");
  });

  it('an unknown aggregate is named', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--agg': 'count,median:x' })), 2);
    expect(line).toContain("'median'");
    expect(line).toContain('--agg');
  });

  it('a batch size of 0 is refused', async () => {
    const line = expectOneLineError(await sluice(aggregate({ '--batch-size': '0' })), 2);
    expect(line).toContain('--batch-size');
    expect(line).toContain("'0'");
  });
});

describe('sluice aggregate: unreadable input (exit 1, one line naming the file)', () => {
  it('a missing file', async () => {
    const path = join(dir, 'nope.jsonl');
    const line = expectOneLineError(await sluice(aggregate({ '--source': `file:${path}` })), 1);
    expect(line).toBe(`sluice: cannot read '${path}': no such file`);
  });

  it('a directory', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path, { recursive: true });
    const line = expectOneLineError(await sluice(aggregate({ '--source': `file:${path}` })), 1);
    expect(line).toBe(`sluice: cannot read '${path}': is a directory`);
  });

  it('a file without read permission', async () => {
    // as root, the CLI runs without the capabilities that bypass file modes (see sluice())
    const locked = await scratch();
    try {
      const path = await writeJsonl(join(locked.dir, 'locked.jsonl'), [{ k: 'a', t: 1, v: 1 }]);
      await lockFile(path);
      const line = expectOneLineError(await sluice(aggregate({ '--source': `file:${path}` }), { respectFileModes: true }), 1);
      expect(line).toBe(`sluice: cannot read '${path}': permission denied`);
    } finally {
      await locked.cleanup();
    }
  });

  it('a glob that matches nothing', async () => {
    const pattern = join(dir, 'none-*.jsonl');
    const line = expectOneLineError(await sluice(aggregate({ '--source': `file:${pattern}` })), 1);
    expect(line).toBe(`sluice: no files match the glob '${pattern}'`);
  });

  describe('a gzip file that breaks part-way', () => {
    /** Deterministic lines, enough that the damage lies well past the first records. */
    const text = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ k: `k${i % 7}`, t: i * 10, v: i, pad: (i * 2654435761) % 1_000_003 })).join('\n') + '\n';
    const gz = gzipSync(text);

    it('truncated: names the file and the line', async () => {
      const path = join(dir, 'truncated.jsonl.gz');
      await writeFile(path, gz.subarray(0, Math.floor(gz.length / 2)));
      const result = await sluice(aggregate({ '--source': `file:${path}` }));
      const line = expectOneLineError(result, 1);
      expect(line).toMatch(new RegExp(`^sluice: cannot read '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': truncated gzip data at line \\d+$`));
    });

    it('corrupt bytes: names the file', async () => {
      const path = join(dir, 'corrupt.jsonl.gz');
      const damaged = Buffer.from(gz);
      const middle = Math.floor(damaged.length / 2);
      for (let i = middle; i < middle + 64; i++) damaged[i] = (damaged[i] as number) ^ 0x5a;
      await writeFile(path, damaged);
      // Deflate notices damage only some way after it, so garbage lines come out first; they are
      // dead letters, kept in a file here so that stderr holds the error alone.
      const result = await sluice(aggregate({ '--source': `file:${path}`, '--dead-letter': `file:${join(dir, 'corrupt-dl.jsonl')}` }));
      const line = expectOneLineError(result, 1);
      expect(line).toContain(`cannot read '${path}'`);
      expect(line).toMatch(/corrupt gzip data/);
    });
  });
});

describe('sluice aggregate --log-format json: mistakes as JSON lines', () => {
  it('a missing input file is one JSON line at level error, with its code and no stack', async () => {
    const result = await sluice(aggregate({ '--source': `file:${join(dir, 'absent.jsonl')}` }, ['--log-format', 'json']));
    expect(result.code).toBe(1);
    // the start-up line, then the error
    const entries = result.errLines.map((line) => JSON.parse(line) as { level: string; code: string; msg: string });
    expect(entries.map((e) => e.level)).toEqual(['info', 'error']);
    const entry = entries[1] ?? { level: '', code: '', msg: '' };
    expect(entry).toMatchObject({ level: 'error', code: 'UNREADABLE_INPUT' });
    expect(entry.msg).toMatch(/absent\.jsonl/);
    expect(entry.msg).not.toMatch(/^sluice: |\n\s+at /);
  });
});

