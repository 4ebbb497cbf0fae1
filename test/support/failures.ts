/**
 * Catching what a call under test throws, for assertions on it: a test that expects a failure
 * fails itself when there is none.
 */
import { expect } from 'vitest';
import { UserError } from '../../src/core/errors.js';

/**
 * What `promise` rejects with; throws when it resolves.
 *
 * @example expect((await failureOf(sink.write(records))).message).toContain('does not exist')
 */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

/**
 * What `promise` rejects with, checked to be a one-line `UserError` (the form every sink failure
 * takes); throws when it resolves.
 *
 * @example expect((await oneLineUserErrorOf(sink.write(records))).message).toMatch(/^InfluxDB database/)
 */
export async function oneLineUserErrorOf(promise: Promise<unknown>): Promise<UserError> {
  const err = await failureOf(promise);
  expect(err).toBeInstanceOf(UserError);
  expect(err.message).not.toContain('\n');
  return err as UserError;
}

/**
 * The `UserError` `fn` throws; rethrows anything else, and throws when `fn` returns.
 *
 * @example expect(userErrorOf(() => parseFirehoseUrl('firehose://', '--sink')).code).toBe(ErrorCode.BAD_URL)
 */
export function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}
