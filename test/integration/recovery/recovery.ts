/**
 * Helpers for the recovery tests: a seeded PRNG, deterministic event generators, and a handle on
 * a `bin/sluice` child process that the test can signal (kill -9, SIGTERM) while it runs.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants, createReadStream, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, lines } from '../cli/cli.js';
import { mulberry32 as prng } from '../../support/prng.js';
export { mulberry32 as prng } from '../../support/prng.js';

/** Epoch-aligned start of the generated event times (a multiple of every window size used). */
export const BASE_TIME = Date.UTC(2026, 0, 1);

export interface EventOptions {
  readonly seed: number;
  readonly count: number;
  /** Event-time step between consecutive events, in ms. */
  readonly stepMs: number;
  /** Where the sequence starts in event time, relative to {@link BASE_TIME}. */
  readonly offsetMs?: number;
  readonly keys: number;
  /** Events at most this far behind the newest so far: on time under that out-of-orderness. */
  readonly maxDisorderMs: number;
  /** Fraction of events sent behind the watermark, up to `lateSpreadMs` further back. */
  readonly lateFraction: number;
  readonly lateSpreadMs: number;
  /** First `seq` value (events carry a unique, increasing `seq`). */
  readonly firstSeq?: number;
}

/**
 * Deterministic JSON Lines events `{"k","ts","v","seq"}`: time advances by `stepMs` per event;
 * each event lands up to `maxDisorderMs - 100` behind that (on time: the watermark trails the
 * newest event by the out-of-orderness), and a few land further back (late, some within allowed
 * lateness and some beyond).
 */
export function eventLines(options: EventOptions): string {
  const random = prng(options.seed);
  const out: string[] = [];
  const offset = options.offsetMs ?? 0;
  const first = options.firstSeq ?? 0;
  for (let i = 0; i < options.count; i++) {
    const now = BASE_TIME + offset + i * options.stepMs;
    const late = i > 1000 && random() < options.lateFraction;
    const behind = late
      ? options.maxDisorderMs + 1 + Math.floor(random() * options.lateSpreadMs)
      : Math.floor(random() * Math.max(1, options.maxDisorderMs - 100));
    const key = `key-${String(Math.floor(random() * random() * options.keys)).padStart(2, '0')}`;
    const v = Math.round(random() * 100_000) / 100;
    out.push(`{"k":"${key}","ts":${now - behind},"v":${v},"seq":${first + i}}`);
  }
  return out.join('\n') + '\n';
}

/** A `bin/sluice` child process the test can signal while it runs. */
export interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly started: number;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  /** Starts reading a `stuck` stdout after all. */
  unstick(): void;
  stderr(): string;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/**
 * Starts `bin/sluice …args` from the repository root. `stdout: 'stuck'` gives it a stdout pipe
 * that nobody reads until `unstick()`, so a stdout sink blocks once the pipe is full.
 */
export function start(args: readonly string[], options: { stdout?: 'pipe' | 'ignore' | 'stuck' } = {}): Running {
  const stdout = options.stdout ?? 'pipe';
  const child = spawn(join(ROOT, 'bin', 'sluice'), [...args], { cwd: ROOT, stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  if (stdout === 'stuck') {
    child.stdout?.pause();
    // unread data would hold 'close' back forever
    child.on('exit', () => {
      if (child.stdout?.isPaused() === true) child.stdout.destroy();
    });
  }
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const started = performance.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ms: performance.now() - started }));
  });
  if (child.pid === undefined) throw new Error('could not start bin/sluice');
  return {
    child,
    pid: child.pid,
    started,
    stdout: () => Buffer.concat(out).toString('utf8'),
    unstick: () => void child.stdout?.resume(),
    stderr: () => Buffer.concat(err).toString('utf8'),
    exited,
  };
}

/** The complete lines of `text`: a trailing fragment without its newline (cut by kill -9) is not a line. */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end === -1 ? [] : lines(text.slice(0, end + 1));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The summary's `N events in`, from the last line of stderr that has one. */
export function eventsIn(stderr: string): number | undefined {
  const found = lines(stderr)
    .map((line) => /^sluice: (\d+) events in,/.exec(line))
    .filter((m) => m !== null)
    .at(-1);
  return found === undefined ? undefined : Number(found[1]);
}

/**
 * Writes a pipeline module (JavaScript, no window: parse then map, so every event reaches the
 * sink) into `dir` that imports Sluice from this repository's build; returns its path.
 */
export async function passThroughModule(dir: string, name = 'pass-through'): Promise<string> {
  const index = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;
  const path = join(dir, `${name}.mjs`);
  await writeFile(
    path,
    `import { definePipeline } from ${JSON.stringify(index)};\n` +
      `export default definePipeline(${JSON.stringify(name)}, (s) =>\n` +
      `  s.parseJson().map((e) => ({ seq: e.seq, key: e.key, ts: e.ts, value: e.value, pad: e.pad })),\n` +
      `);\n`,
  );
  return path;
}

/** `count` events of about 100 bytes, `{"seq":N,…}`, written in slices so the text is never whole in memory. */
export async function writeSeqEvents(path: string, count: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const slice = 20_000;
    for (let from = 0; from < count; from += slice) {
      let text = '';
      for (let seq = from; seq < Math.min(count, from + slice); seq++) {
        text += `{"seq":${seq},"key":"k-${seq % 97}","ts":${BASE_TIME + seq * 5},"value":${(seq * 7919) % 100_000},"pad":"${PAD}"}\n`;
      }
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
}
const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Creates a named pipe (`mkfifo`). */
export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/**
 * Reads a named pipe as a peer would: `msPerLine` per line (0: as fast as it comes), counting
 * every `seq` it receives. Pausing between chunks lets the pipe fill, so the writer blocks.
 */
export class FifoReader {
  lines = 0;
  private tail = '';
  private opened = false;
  readonly done: Promise<void>;

  constructor(
    private readonly path: string,
    private msPerLine: number,
    /** Times each seq was received, when counting. */
    readonly seqs?: Uint16Array,
  ) {
    // small chunks: the reader takes only what it is about to "process"
    const stream = createReadStream(path, { highWaterMark: 4096 });
    stream.once('open', () => (this.opened = true));
    this.done = (async () => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const text = this.tail + chunk.toString('utf8');
        const end = text.lastIndexOf('\n');
        this.tail = text.slice(end + 1);
        if (end === -1) continue;
        let n = 0;
        for (const line of text.slice(0, end).split('\n')) {
          n++;
          if (this.seqs !== undefined) {
            const seq = Number(/"seq":(\d+)/.exec(line)?.[1] ?? NaN);
            if (!Number.isSafeInteger(seq) || seq >= this.seqs.length) throw new Error(`unexpected line from the pipe: ${line}`);
            this.seqs[seq] = (this.seqs[seq] ?? 0) + 1;
          }
        }
        this.lines += n;
        if (this.msPerLine > 0) await sleep(n * this.msPerLine);
      }
    })();
  }

  /** From now on, read as fast as the writer writes. */
  fast(): void {
    this.msPerLine = 0;
  }

  /** Bytes left after the last newline (a partial line). */
  get partial(): string {
    return this.tail;
  }

  /**
   * If no writer ever opened the pipe (the child failed first), opens and closes it for writing
   * so that the reader's blocked open returns and its thread is not held forever.
   */
  async release(): Promise<void> {
    if (this.opened) return;
    const handle = await open(this.path, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
    await handle?.close();
  }
}

/** Samples a process's resident set (`VmRSS`) every `everyMs` until stopped. */
export class RssSampler {
  peakKb = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 100) {
    this.timer = setInterval(() => {
      let status: string;
      try {
        status = readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        return; // exited
      }
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
      if (!Number.isFinite(kb)) return;
      this.samples++;
      if (kb > this.peakKb) this.peakKb = kb;
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Whether process `pid` still exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves with the exit, or with `undefined` if the process is still running after `ms`. */
export async function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
