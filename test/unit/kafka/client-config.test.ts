import { KafkaJSSASLAuthenticationError, type KafkaConfig } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { parseKafkaUrl } from '../../../src/kafka/endpoint.js';
import { describeKafkaError, kafkaClientConfig } from '../../../src/kafka/service.js';

// What a kafka:// URL's authentication parameters turn into for kafkajs, without a broker: MSK IAM
// as OAUTHBEARER with a token provider signing for the URL's region, SCRAM with the password from
// the environment, and one-line errors for a missing region and for rejected authentication.
// SCRAM against a real broker is test/integration/kafka/auth.test.ts.

const MSK = 'b-1.sluice.abc123.c2.kafka.eu-west-1.amazonaws.com:9098';
/** AWS's documentation example key pair: signing with it is local, no AWS call is made. */
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

afterEach(() => vi.unstubAllEnvs());

/** The error kafkajs throws when a broker rejects a login; its typings omit the message argument. */
const SaslAuthenticationError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

/** The kafkajs SASL options for `url` as a sink, with `env` as the only environment. */
function saslOf(url: string, env: Record<string, string> = {}): KafkaConfig['sasl'] {
  return kafkaClientConfig(parseKafkaUrl(url, 'sink', env)).sasl;
}

/** The OAUTHBEARER token provider of kafkajs SASL options; throws for any other mechanism. */
function tokenProviderOf(sasl: KafkaConfig['sasl']): () => Promise<{ value: string }> {
  if (sasl === undefined || sasl.mechanism !== 'oauthbearer' || !('oauthBearerProvider' in sasl)) throw new Error(`expected OAUTHBEARER, got ${sasl?.mechanism}`);
  return sasl.oauthBearerProvider;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('MSK IAM (sasl=iam)', () => {
  it('becomes OAUTHBEARER over TLS with a token provider', () => {
    const config = kafkaClientConfig(parseKafkaUrl(`kafka://${MSK}/clicks?group=g&sasl=iam&region=eu-west-1`, 'source', {}));
    expect(config.ssl).toBe(true);
    expect(config.brokers).toEqual([MSK]);
    expect(config.sasl?.mechanism).toBe('oauthbearer');
    expect(typeof tokenProviderOf(config.sasl)).toBe('function');
  });

  it("signs each token as kafka-cluster:Connect for the URL's region with the default AWS credentials", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET_ACCESS_KEY);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    // a profile in the environment would make the default chain skip the keys above
    vi.stubEnv('AWS_PROFILE', '');
    const provider = tokenProviderOf(saslOf(`kafka://${MSK}/results?sasl=iam&region=eu-west-1`, { AWS_REGION: 'us-east-1' }));

    const first = await provider();
    const signed = new URL(Buffer.from(first.value, 'base64url').toString('utf8'));
    expect(signed.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(signed.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(signed.searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^${ACCESS_KEY_ID}/\\d{8}/eu-west-1/kafka-cluster/aws4_request$`));
    expect(signed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION, when the URL has none', () => {
    const regionOf = (env: Record<string, string>): string | undefined => {
      const sasl = parseKafkaUrl(`kafka://${MSK}/results?sasl=iam`, 'sink', env).sasl;
      return sasl?.mechanism === 'iam' ? sasl.region : undefined;
    };
    expect(regionOf({ AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('us-east-2');
    expect(regionOf({ AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
  });

  it('without a region anywhere, is a UserError naming the URL and both ways to give one', () => {
    for (const url of [`kafka://${MSK}/clicks?group=g&sasl=iam`, `kafka://${MSK}/clicks?group=g&sasl=iam&region=`]) {
      const err = thrown(() => parseKafkaUrl(url, 'source', {}));
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe(ErrorCode.BAD_URL);
      expect((err as UserError).message).toBe(`--source '${url}': sasl=iam needs the cluster region: add &region=REGION or set AWS_REGION`);
    }
  });
});

describe('SCRAM (sasl=scram-sha-256|scram-sha-512)', () => {
  it('passes the mechanism, the user, and the password from SLUICE_KAFKA_PASSWORD; TLS only when asked', () => {
    const url = 'kafka://127.0.0.1:9096/results?sasl=scram-sha-512&username=sluice';
    expect(saslOf(url, { SLUICE_KAFKA_PASSWORD: 's3cret' })).toEqual({ mechanism: 'scram-sha-512', username: 'sluice', password: 's3cret' });
    expect(kafkaClientConfig(parseKafkaUrl(url, 'sink', { SLUICE_KAFKA_PASSWORD: 's3cret' })).ssl).toBe(false);
    expect(kafkaClientConfig(parseKafkaUrl(`${url}&tls=true`, 'sink', { SLUICE_KAFKA_PASSWORD: 's3cret' })).ssl).toBe(true);
  });

  it('without a password is a UserError that does not echo one given in the URL elsewhere', () => {
    const err = thrown(() => parseKafkaUrl('kafka://127.0.0.1:9096/results?sasl=scram-sha-256&username=sluice', 'sink', {}));
    expect((err as UserError).message).toBe(
      "--sink 'kafka://127.0.0.1:9096/results?sasl=scram-sha-256&username=sluice': sasl=scram-sha-256 needs a password: set SLUICE_KAFKA_PASSWORD (or &password=…)",
    );
    const redacted = thrown(() => parseKafkaUrl('kafka://127.0.0.1:9096/results?sasl=nope&password=hunter2', 'sink', {}));
    expect((redacted as UserError).message).not.toContain('hunter2');
  });
});

describe('describeKafkaError for failed authentication', () => {
  const scram = parseKafkaUrl('kafka://127.0.0.1:9096/results?sasl=scram-sha-512&username=sluice', 'sink', { SLUICE_KAFKA_PASSWORD: 's3cret' });
  const iam = parseKafkaUrl(`kafka://${MSK}/results?sasl=iam&region=eu-west-1`, 'sink', {});

  it('names the SCRAM mechanism and the user whose credentials the broker rejected', () => {
    const err = new SaslAuthenticationError(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    const described = describeKafkaError(err, scram);
    expect(described.message).toBe(
      "Kafka at 127.0.0.1:9096 rejected the credentials of user 'sluice' for SASL/SCRAM-SHA-512: an unknown user, a wrong password, or a user without SCRAM-SHA-512 credentials; check the user name and the password (SLUICE_KAFKA_PASSWORD or &password=)",
    );
    expect(described.message).not.toContain('s3cret');
    expect(described.cause).toBe(err);
  });

  it('tells AWS credentials missing on this side from a token the broker rejected', () => {
    expect(describeKafkaError(new Error('Could not load credentials from any providers'), iam).message).toBe(
      `cannot sign an MSK IAM token for Kafka at ${MSK} (region eu-west-1): Could not load credentials from any providers; give Sluice AWS credentials (environment, profile or task role)`,
    );
    expect(describeKafkaError(new SaslAuthenticationError('SASL OAUTHBEARER authentication failed: Access denied'), iam).message).toBe(
      `Kafka at ${MSK} rejected MSK IAM authentication (region eu-west-1): SASL OAUTHBEARER authentication failed: Access denied; check the region and that the IAM policy allows kafka-cluster:Connect`,
    );
  });
});
