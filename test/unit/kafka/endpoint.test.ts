import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { parseKafkaUrl } from '../../../src/kafka/endpoint.js';

function failure(run: () => unknown): UserError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe(ErrorCode.BAD_URL);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

describe('kafka:// URLs', () => {
  it('reads brokers, topic, group, start and session timeout of a source', () => {
    const endpoint = parseKafkaUrl('kafka://a:9092,b:9093/clicks?group=g&start=2026-01-01T00:00:00Z&session-timeout=10s', 'source', {});
    expect(endpoint).toMatchObject({ brokers: ['a:9092', 'b:9093'], topic: 'clicks', group: 'g', sessionTimeoutMs: 10_000 });
    expect(endpoint.start).toEqual({ kind: 'timestamp', time: Date.parse('2026-01-01T00:00:00Z') });
  });

  it('names the option the URL came from', () => {
    expect(failure(() => parseKafkaUrl('kafka://nohost/t', 'sink', {}, '--dead-letter')).message).toBe(
      "--dead-letter 'kafka://nohost/t': broker 'nohost' is not HOST:PORT",
    );
  });

  it('refuses a parameter meant for the other side, saying what that side takes', () => {
    expect(failure(() => parseKafkaUrl('kafka://a:9092/out?group=g', 'sink', {})).message).toMatch(
      /^--sink 'kafka:\/\/a:9092\/out\?group=g': 'group' is for reading from Kafka; a Kafka output takes key, client-id, tls, /,
    );
    expect(failure(() => parseKafkaUrl('kafka://a:9092/in?group=g&key=id', 'source', {})).message).toMatch(/'key' is for writing to Kafka/);
  });

  it('needs a group on a source, and a session timeout the broker accepts', () => {
    expect(failure(() => parseKafkaUrl('kafka://a:9092/in', 'source', {})).message).toMatch(/needs a consumer group: add \?group=NAME/);
    expect(failure(() => parseKafkaUrl('kafka://a:9092/in?group=g&session-timeout=1s', 'source', {})).message).toMatch(/at least 6s/);
  });

  it('never repeats a password it was given', () => {
    const message = failure(() => parseKafkaUrl('kafka://a:9092/in?group=g&sasl=scram-sha-512&username=u&password=hunter2&bogus=1', 'source', {})).message;
    expect(message).not.toContain('hunter2');
    expect(message).toMatch(/unknown parameter 'bogus'/);
  });
});
