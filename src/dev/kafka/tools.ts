/**
 * The JDK for the local Kafka broker: checks that it is there, with a message that says what to
 * install.
 */
import { ErrorCode, UserError } from '../../core/errors.js';
import { run, tail, type RunResult } from '../common/process.js';

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
