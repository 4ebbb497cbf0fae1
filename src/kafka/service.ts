/**
 * The only place Sluice creates Kafka clients (kafkajs) and MSK IAM tokens, and where their
 * errors become one line an operator can act on. Source and sink services get their clients here.
 */
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { ErrorCode, UserError, messageOf } from '../core/errors.js';
import type { KafkaEndpoint } from './endpoint.js';

/** A kafkajs client for an endpoint: TLS, SASL (PLAIN, SCRAM) or MSK IAM as the URL says; silent. */
export function kafkaClient(endpoint: KafkaEndpoint): Kafka {
  return new Kafka({
    clientId: endpoint.clientId,
    brokers: [...endpoint.brokers],
    ssl: endpoint.tls,
    ...(endpoint.sasl === undefined ? {} : { sasl: saslOptions(endpoint) }),
    // Sluice reports errors itself, once, in plain words; kafkajs's own logs are noise
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200 },
  });
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

/** Which authentication the endpoint uses, as an operator would name it. */
function mechanismName(endpoint: KafkaEndpoint): string {
  const sasl = endpoint.sasl;
  if (sasl === undefined) return endpoint.tls ? 'TLS without SASL' : 'no authentication';
  if (sasl.mechanism === 'iam') return `MSK IAM (region ${sasl.region})`;
  return `SASL/${sasl.mechanism.toUpperCase()} as '${sasl.username}'`;
}

/**
 * Turns a kafkajs error into one line naming the endpoint and what to check: unreachable
 * brokers, failed authentication (and which mechanism), a missing topic, TLS trouble.
 */
export function describeKafkaError(err: unknown, endpoint: KafkaEndpoint): UserError {
  const name = err instanceof Error ? err.name : '';
  const message = messageOf(err);
  const where = endpoint.brokers.join(',');
  const code = name === 'KafkaJSSASLAuthenticationError' || /SASL|authenticat/i.test(message) ? 'auth' : undefined;
  if (code === 'auth' || endpoint.sasl?.mechanism === 'iam' && /token|credential/i.test(message)) {
    return new UserError(ErrorCode.UNREADABLE_INPUT, `Kafka at ${where} rejected ${mechanismName(endpoint)}: ${message}`, { cause: err });
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
