/**
 * SASL/SCRAM on the JVM broker: the extra listener's settings, and the user that
 * `kafka-storage format --add-scram` writes into the new metadata log. In KRaft that is the one
 * way to have a user before the first start; later it would take an admin call per user.
 */
import { ErrorCode, UserError } from '../../core/errors.js';
import type { KafkaScramUser, ScramMechanism } from './index.js';

/** Every SCRAM mechanism Kafka implements; the SASL listener accepts all of them. */
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** The extra listener, also its security protocol; `listener.name.*` settings use it lower-cased. */
export const SASL_LISTENER = 'SASL_PLAINTEXT';

/**
 * Rejects, with a UserError that never quotes the password, a user `kafka-storage format` would
 * misread: StorageTool splits `--add-scram`'s value on commas without regard to quotes.
 *
 * @example checkScramUser({ username: 'alice', password: 'alice-secret' }) // fine
 */
export function checkScramUser(user: KafkaScramUser): void {
  const bad = (why: string): UserError => new UserError(ErrorCode.BAD_OPTION, `SCRAM user for the local Kafka broker: ${why}`);
  if (typeof user.username !== 'string' || user.username === '') throw bad('the user name is empty');
  if (typeof user.password !== 'string' || user.password === '') throw bad(`the password of '${user.username}' is empty`);
  if (user.username.includes(',')) throw bad(`the user name '${user.username}' contains a comma, which Kafka's storage tool cannot take`);
  if (user.password.includes(',')) throw bad(`the password of '${user.username}' contains a comma, which Kafka's storage tool cannot take`);
  if (user.mechanism !== undefined && !SCRAM_MECHANISMS.includes(user.mechanism)) {
    throw bad(`mechanism must be ${SCRAM_MECHANISMS.join(' or ')}, got '${String(user.mechanism)}'`);
  }
}

/**
 * `kafka-storage format` arguments creating the user, one `--add-scram` per mechanism. Values are
 * quoted because the tool strips one pair of quotes: a password that itself starts and ends with
 * `"` then keeps them.
 *
 * @example addScramArguments({ username: 'alice', password: 's3cret', mechanism: 'SCRAM-SHA-512' })
 * // ['--add-scram', 'SCRAM-SHA-512=[name="alice",password="s3cret"]']
 */
export function addScramArguments(user: KafkaScramUser): string[] {
  const mechanisms = user.mechanism === undefined ? SCRAM_MECHANISMS : [user.mechanism];
  return mechanisms.flatMap((mechanism) => ['--add-scram', `${mechanism}=[name="${user.username}",password="${user.password}"]`]);
}

/**
 * server.properties lines for the SASL listener beyond `listeners` and `advertised.listeners`:
 * its protocol, its mechanisms and their server-side JAAS entries. Brokers and the controller keep
 * talking PLAINTEXT, so no broker-side credentials are needed.
 */
export function scramListenerProperties(): string[] {
  const prefix = `listener.name.${SASL_LISTENER.toLowerCase()}`;
  return [
    // the default, GSSAPI, would want Kerberos for this listener
    `${prefix}.sasl.enabled.mechanisms=${SCRAM_MECHANISMS.join(',')}`,
    ...SCRAM_MECHANISMS.map((m) => `${prefix}.${m.toLowerCase()}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`),
  ];
}

/** `text` with every occurrence of the user's password replaced, for error messages. */
export function withoutPassword(text: string, user: KafkaScramUser): string {
  return text.split(user.password).join('***');
}
