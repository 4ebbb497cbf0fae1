/**
 * Running the JDK and Maven for the local Kafka broker: checks that they are there (with a
 * message that says what to install) and runs them with their output captured, never printed.
 */
import { spawn } from 'node:child_process';
import { ErrorCode, UserError } from '../../core/errors.js';

/** Lines of a tool's or the broker's output quoted in error messages. */
export const TAIL_LINES = 40;

export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion with stdout and stderr captured together. */
export function run(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

/** Runs a command and rejects with `what` and the tail of its output unless it exits with 0. */
export async function runOrThrow(command: string, args: readonly string[], what: string): Promise<string> {
  const { code, output } = await run(command, args);
  if (code !== 0) throw new Error(`${what} (exit code ${code}):\n${tail(output)}`);
  return output;
}

/** The last {@link TAIL_LINES} non-empty lines of `text`, indented for quoting in a message. */
export function tail(text: string, lines = TAIL_LINES): string {
  const kept = text.split('\n').filter((line) => line.trim() !== '').slice(-lines);
  return kept.length === 0 ? '  (no output)' : kept.map((line) => `  ${line}`).join('\n');
}

/**
 * Rejects with a UserError unless `java -version` runs and reports Java 17 or newer (Kafka 4
 * brokers need 17).
 */
export async function requireJava(): Promise<void> {
  const advice = 'install JDK 17 or newer, or start Docker to use a Kafka container';
  let result: RunResult;
  try {
    result = await run('java', ['-version']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs a JDK (java) on the PATH to run a local Kafka broker; ${advice}`, { cause: err });
  }
  const major = /version "(?:1\.)?(\d+)/.exec(result.output)?.[1];
  if (result.code !== 0 || major === undefined) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs a JDK (java) on the PATH to run a local Kafka broker, but 'java -version' failed; ${advice}\n${tail(result.output)}`);
  }
  if (Number(major) < 17) {
    throw new UserError(ErrorCode.BAD_OPTION, `needs Java 17 or newer to run a local Kafka broker, but 'java' on the PATH is Java ${major}; ${advice}`);
  }
}

/** Rejects with a UserError unless `mvn -v` runs; Maven fetches the broker's jars on first use. */
export async function requireMaven(): Promise<void> {
  const message =
    'needs Maven (mvn) on the PATH to install the local Kafka broker on first use; install Maven 3.8 or newer ' +
    '(Maven Central must be reachable once), or start Docker to use a Kafka container';
  let result: RunResult;
  try {
    result = await run('mvn', ['-v']);
  } catch (err) {
    throw new UserError(ErrorCode.BAD_OPTION, message, { cause: err });
  }
  if (result.code !== 0) throw new UserError(ErrorCode.BAD_OPTION, `${message}\n'mvn -v' failed:\n${tail(result.output)}`);
}
