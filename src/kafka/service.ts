/**
 * The only place Sluice creates Kafka clients (kafkajs) and MSK IAM tokens, and where their
 * errors become one line an operator can act on. Source and sink services get their clients here.
 */
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import type { KafkaEndpoint } from './endpoint.js';

/**
 * A kafkajs client for an endpoint: TLS, SASL (PLAIN, SCRAM) or MSK IAM as the URL says; silent.
 *
 * @example const admin = kafkaClient(parseKafkaUrl('kafka://127.0.0.1:9092/clicks', 'sink')).admin();
 * @see kafkaClientConfig
 */
export function kafkaClient(endpoint: KafkaEndpoint): Kafka {
  return new Kafka(kafkaClientConfig(endpoint));
}

/**
 * The kafkajs configuration {@link kafkaClient} uses, apart so that what a URL turns into can be
 * checked without a broker. With `sasl=iam` the SASL mechanism is OAUTHBEARER, and its token
 * provider signs a fresh MSK IAM token with the default AWS credential chain at each call.
 *
 * @example kafkaClientConfig(parseKafkaUrl('kafka://b-1.msk:9098/t?sasl=iam&region=eu-west-1', 'sink')).sasl?.mechanism // 'oauthbearer'
 * @see kafkaClient
 */
export function kafkaClientConfig(endpoint: KafkaEndpoint): KafkaConfig {
  return {
    clientId: endpoint.clientId,
    brokers: [...endpoint.brokers],
    ssl: endpoint.tls,
    ...(endpoint.sasl === undefined ? {} : { sasl: saslOptions(endpoint) }),
    // Sluice reports errors itself, once, in plain words; kafkajs's own logs are noise
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200 },
  };
}

function saslOptions(endpoint: KafkaEndpoint): SASLOptions {
  const sasl = endpoint.sasl;
  if (sasl === undefined) throw new Error('no SASL configured');
  if (sasl.mechanism === 'iam') {
    const region = sasl.region;
    return {
      mechanism: 'oauthbearer',
      // a fresh token per authentication: they last 15 minutes, connections longer
      oauthBearerProvider: async () => {
        const { token } = await generateAuthToken({ region });
        return { value: token };
      },
    };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

/** How a broker answers a wrong password or an unknown user; it does not say which of the two. */
const CREDENTIALS_REJECTED = /invalid credentials|invalid username or password/i;
/** The listener has SASL, but not this mechanism (kafkajs's check, or the broker's UNSUPPORTED_SASL_MECHANISM). */
const MECHANISM_NOT_OFFERED = /mechanism is not supported|does not support the requested SASL mechanism/i;
/** The broker's ILLEGAL_SASL_STATE: a SASL handshake sent to a listener without SASL. */
const LISTENER_WITHOUT_SASL = /not valid given the current SASL state/i;

/**
 * Turns a kafkajs error into one line naming the endpoint and what to check: unreachable
 * brokers, failed authentication (and which mechanism), a missing topic, TLS trouble. Secrets
 * never appear in it: kafkajs does not quote them and the endpoint's URL is redacted.
 *
 * @example throw describeKafkaError(err, endpoint) // Kafka at b-1.msk:9096 rejected the credentials of user 'sluice' for SASL/SCRAM-SHA-512: …
 * @see kafkaClient
 */
export function describeKafkaError(err: unknown, endpoint: KafkaEndpoint): UserError {
  const name = err instanceof Error ? err.name : '';
  const message = messageOf(err);
  const where = endpoint.brokers.join(',');
  if (endpoint.sasl?.mechanism === 'iam' && name !== 'KafkaJSSASLAuthenticationError' && /credential/i.test(message)) {
    return new UserError(
      ErrorCode.UNREADABLE_INPUT,
      `cannot sign an MSK IAM token for Kafka at ${where} (region ${endpoint.sasl.region}): ${message}; give Sluice AWS credentials (environment, profile or task role)`,
      { cause: err },
    );
  }
  if (name === 'KafkaJSSASLAuthenticationError' || /SASL|authenticat/i.test(message)) {
    return new UserError(ErrorCode.UNREADABLE_INPUT, authenticationFailure(endpoint, message), { cause: err });
  }
  if (/UNKNOWN_TOPIC|does not host this topic-partition|topic.*not.*exist/i.test(message) || name === 'KafkaJSTopicMetadataNotLoaded') {
    return new UserError(ErrorCode.UNREADABLE_INPUT, `Kafka topic '${endpoint.topic}' does not exist on ${where}; create it first (Sluice does not create topics)`, { cause: err });
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection (timeout|error)|KafkaJSNumberOfRetriesExceeded|KafkaJSConnectionError/i.test(`${name} ${message}`)) {
    return new UserError(ErrorCode.UNREADABLE_INPUT, `cannot reach Kafka at ${where} (${message}); is the broker running and the address right? (sluice dev kafka starts a local one)`, { cause: err });
  }
  if (/SSL|TLS|certificate|handshake/i.test(message)) {
    return new UserError(ErrorCode.UNREADABLE_INPUT, `TLS with Kafka at ${where} failed: ${message}`, { cause: err });
  }
  return new UserError(ErrorCode.UNREADABLE_INPUT, `Kafka at ${where}: ${message}`, { cause: err });
}

/** The line for a failed authentication: the mechanism that failed, as an operator names it, and what to check. */
function authenticationFailure(endpoint: KafkaEndpoint, message: string): string {
  const where = endpoint.brokers.join(',');
  const sasl = endpoint.sasl;
  if (sasl === undefined) {
    const how = endpoint.tls ? 'TLS without SASL' : 'no authentication';
    return `Kafka at ${where} did not accept ${how} (${message}); add sasl=…&username=… to the URL if its listener requires SASL`;
  }
  if (sasl.mechanism === 'iam') {
    return `Kafka at ${where} rejected MSK IAM authentication (region ${sasl.region}): ${message}; check the region and that the IAM policy allows kafka-cluster:Connect`;
  }
  const mechanism = sasl.mechanism.toUpperCase();
  if (MECHANISM_NOT_OFFERED.test(message)) {
    return `Kafka at ${where} does not offer SASL/${mechanism} on this listener (${message}); use a mechanism it enables (MSK: scram-sha-512 or iam)`;
  }
  if (LISTENER_WITHOUT_SASL.test(message)) {
    return `Kafka at ${where} takes no SASL on this listener, so SASL/${mechanism} failed (${message}); use the address of its SASL listener, or leave out sasl=`;
  }
  if (CREDENTIALS_REJECTED.test(message)) {
    const causes = mechanism === 'PLAIN' ? 'an unknown user or a wrong password' : `an unknown user, a wrong password, or a user without ${mechanism} credentials`;
    return `Kafka at ${where} rejected the credentials of user '${sasl.username}' for SASL/${mechanism}: ${causes}; check the user name and the password (SLUICE_KAFKA_PASSWORD or &password=)`;
  }
  return `Kafka at ${where} rejected SASL/${mechanism} as '${sasl.username}': ${message}`;
}
