/**
 * Runs window cases through real Apache Flink (test/conformance/flink/oracle), so conformance tests
 * can compare Sluice with the engine whose semantics it promises to match.
 *
 * The first use copies Flink's jars with Maven and compiles the oracle with javac into
 * `.cache/flink-oracle/<hash of pom.xml + FlinkOracle.java>/`; later uses reuse that build.
 * Nothing is printed on success; every failure (no Java, no Maven, a failed download, a failed
 * job) is an Error carrying the tail of the tool's output.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type OracleWindow =
  | { readonly kind: 'tumbling'; readonly size: number }
  | { readonly kind: 'sliding'; readonly size: number; readonly slide: number }
  | { readonly kind: 'session'; readonly gap: number };

export interface OracleEvent {
  readonly k: string;
  readonly t: number;
  readonly v: number;
}

/** One job: events in arrival order, watermark = max t − ooo − 1 after each event. */
export interface OracleCase {
  readonly case: string;
  readonly window: OracleWindow;
  readonly ooo: number;
  readonly lateness: number;
  readonly events: readonly OracleEvent[];
}

/** One window firing; `revision` counts earlier firings of the same key and bounds. */
export interface OracleResult {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly revision: number;
  readonly count: number;
  readonly sum: number;
}

export interface OracleCaseOutput {
  /** Firings in Flink's emission order. */
  readonly results: OracleResult[];
  /** Events Flink sent to the late side output. */
  readonly late: OracleEvent[];
}

/** Output per case id. */
export type OracleOutput = Map<string, OracleCaseOutput>;

export interface FlinkOracle {
  run(cases: readonly OracleCase[]): Promise<OracleOutput>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ORACLE_DIR = join(ROOT, 'test', 'conformance', 'flink', 'oracle');
const POM = join(ORACLE_DIR, 'pom.xml');
const SOURCE = join(ORACLE_DIR, 'src', 'main', 'java', 'sluice', 'oracle', 'FlinkOracle.java');
const CACHE = join(ROOT, '.cache', 'flink-oracle');

/** Module flags for Flink 1.20 on Java 17: those Flink's own launcher passes by default, less the javac ones. */
const JAVA_17_OPENS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
];

const TAIL_LINES = 40;

let pending: Promise<FlinkOracle> | undefined;

/**
 * Builds the oracle once per process (or reuses the cached build) and returns a runner. Rejects
 * with a clear message when Java or Maven is missing: a conformance test must never skip.
 */
export function ensureFlinkOracle(): Promise<FlinkOracle> {
  pending ??= build().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function build(): Promise<FlinkOracle> {
  await requireTool('java', ['-version'], 'a Java runtime (java, JDK 17)');
  const [pom, source] = await Promise.all([readFile(POM), readFile(SOURCE)]);
  const hash = createHash('sha256').update(pom).update('\0').update(source).digest('hex').slice(0, 16);
  const dir = join(CACHE, hash);
  if (!existsSync(join(dir, 'ready'))) {
    await requireTool('javac', ['-version'], 'a Java compiler (javac, JDK 17)');
    await requireTool('mvn', ['-v'], 'Maven (mvn)');
    const tmp = join(CACHE, `.building-${process.pid}-${Date.now()}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      await exec('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(tmp, 'jars')}`], {
        what: 'Maven could not fetch the Flink dependencies of the oracle',
      });
      await exec('javac', ['-nowarn', '-encoding', 'UTF-8', '-Xlint:-deprecation', '-d', join(tmp, 'classes'), '-cp', join(tmp, 'jars', '*'), SOURCE], {
        what: 'javac could not compile FlinkOracle.java',
      });
      await writeFile(join(tmp, 'ready'), `${new Date().toISOString()}\n`);
      if (existsSync(join(dir, 'ready'))) {
        // another process finished the same build meanwhile; keep theirs, it may be running
        await rm(tmp, { recursive: true, force: true });
      } else {
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      }
      // builds of earlier versions of the oracle are dead weight (Flink's jars are ~60 MB)
      for (const entry of await readdir(CACHE)) {
        if (entry !== hash && !entry.startsWith('.')) await rm(join(CACHE, entry), { recursive: true, force: true });
      }
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // another worker may have finished the same build meanwhile
      if (!existsSync(join(dir, 'ready'))) throw err;
    }
  }
  const classpath = [join(dir, 'jars', '*'), join(dir, 'classes')].join(delimiter);
  return { run: (cases) => runOracle(classpath, cases) };
}

async function runOracle(classpath: string, cases: readonly OracleCase[]): Promise<OracleOutput> {
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.case)) throw new Error(`flink oracle: duplicate case id '${c.case}'`);
    ids.add(c.case);
  }
  const input = cases.map((c) => JSON.stringify(c)).join('\n') + '\n';
  const { stdout, stderr, code } = await collect('java', [...JAVA_17_OPENS, '-cp', classpath, 'sluice.oracle.FlinkOracle'], input);

  const output: OracleOutput = new Map();
  const done = new Set<string>();
  const errors: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`flink oracle printed something that is not JSON: ${line}\n${tail(stderr)}`);
    }
    const id = String(record['case']);
    let out = output.get(id);
    if (out === undefined) {
      out = { results: [], late: [] };
      output.set(id, out);
    }
    if (record['done'] === true) done.add(id);
    else if (typeof record['error'] === 'string') errors.push(`case ${id}: ${record['error']}`);
    else if (record['late'] !== undefined) out.late.push(record['late'] as OracleEvent);
    else {
      const { key, start, end, revision, count, sum } = record as unknown as OracleResult;
      out.results.push({ key, start, end, revision, count, sum });
    }
  }
  const missing = [...ids].filter((id) => !done.has(id));
  if (code !== 0 || errors.length > 0 || missing.length > 0) {
    const what = errors.length > 0 ? errors.join('\n') : missing.length > 0 ? `no result for case(s) ${missing.slice(0, 10).join(', ')}` : '';
    throw new Error(`flink oracle failed (exit code ${code}) ${what}\n${tail(stderr)}`);
  }
  for (const id of ids) if (!output.has(id)) output.set(id, { results: [], late: [] });
  return output;
}

async function requireTool(command: string, args: readonly string[], what: string): Promise<void> {
  try {
    const { code, stdout, stderr } = await collect(command, args, '');
    if (code !== 0) throw new Error(`'${command} ${args.join(' ')}' exited with code ${code}\n${tail(stdout + stderr)}`);
  } catch (err) {
    throw new Error(
      `The Flink conformance test needs ${what} on the PATH, and could not run '${command}': ${err instanceof Error ? err.message : String(err)}. ` +
        'Install JDK 17 and Maven 3.8+ (Maven Central must be reachable on the first run).',
    );
  }
}

async function exec(command: string, args: readonly string[], options: { what: string }): Promise<void> {
  const { code, stdout, stderr } = await collect(command, args, '');
  if (code !== 0) throw new Error(`${options.what} (exit code ${code}):\n${tail(stdout + stderr)}`);
}

interface Collected {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

function collect(command: string, args: readonly string[], input: string): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code }));
    // the child may exit before reading everything (a failed start); that error is in its output
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-TAIL_LINES).join('\n');
}
