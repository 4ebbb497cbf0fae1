import { describe, expect, it } from 'vitest';
import { scramUser } from '../../../src/cli/dev.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { addScramArguments, checkScramUser } from '../../../src/dev/kafka/scram.js';

// The local broker's SCRAM user, before any JVM runs: `--scram USER[:PASSWORD]` as typed, the
// `kafka-storage format --add-scram` arguments, and errors that never quote the password.
// The broker itself taking them is test/integration/kafka/auth.test.ts.

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('sluice dev kafka --scram USER[:PASSWORD]', () => {
  it('splits at the first colon, so the password may contain more', () => {
    expect(scramUser('alice:pa:ss', {})).toEqual({ username: 'alice', password: 'pa:ss' });
  });

  it('takes the password from SLUICE_KAFKA_PASSWORD when the flag has none', () => {
    expect(scramUser('alice', { SLUICE_KAFKA_PASSWORD: 'from-env' })).toEqual({ username: 'alice', password: 'from-env' });
    // one in the flag wins
    expect(scramUser('alice:typed', { SLUICE_KAFKA_PASSWORD: 'from-env' })).toEqual({ username: 'alice', password: 'typed' });
  });

  it('rejects a missing user or password as a usage error', () => {
    expect(thrown(() => scramUser(':secret', {})).message).toBe('--scram needs a user name: write --scram USER:PASSWORD, or --scram USER with SLUICE_KAFKA_PASSWORD set');
    const noPassword = thrown(() => scramUser('alice:', { SLUICE_KAFKA_PASSWORD: '' }));
    expect(noPassword.code).toBe(ErrorCode.BAD_OPTION);
    expect(noPassword.message).toBe("--scram needs a password for 'alice': write --scram alice:PASSWORD, or set SLUICE_KAFKA_PASSWORD");
  });
});

describe('the SCRAM user kafka-storage format creates', () => {
  it('gets credentials for both mechanisms, or the one asked for, with quoted values', () => {
    expect(addScramArguments({ username: 'alice', password: 'a"b]c' })).toEqual([
      '--add-scram',
      'SCRAM-SHA-256=[name="alice",password="a"b]c"]',
      '--add-scram',
      'SCRAM-SHA-512=[name="alice",password="a"b]c"]',
    ]);
    expect(addScramArguments({ username: 'alice', password: 'x', mechanism: 'SCRAM-SHA-512' })).toEqual(['--add-scram', 'SCRAM-SHA-512=[name="alice",password="x"]']);
  });

  it("rejects what Kafka's storage tool would misread, without quoting the password", () => {
    const comma = thrown(() => checkScramUser({ username: 'alice', password: 'not,this' }));
    expect(comma.code).toBe(ErrorCode.BAD_OPTION);
    expect(comma.message).toBe("SCRAM user for the local Kafka broker: the password of 'alice' contains a comma, which Kafka's storage tool cannot take");
    expect(thrown(() => checkScramUser({ username: 'a,b', password: 'x' })).message).toContain("the user name 'a,b' contains a comma");
    expect(thrown(() => checkScramUser({ username: '', password: 'x' })).message).toContain('the user name is empty');
    expect(thrown(() => checkScramUser({ username: 'alice', password: '' })).message).toContain("the password of 'alice' is empty");
    const mechanism = { username: 'alice', password: 'x', mechanism: 'SCRAM-SHA-1' } as unknown as Parameters<typeof checkScramUser>[0];
    expect(thrown(() => checkScramUser(mechanism)).message).toContain("mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got 'SCRAM-SHA-1'");
  });
});
