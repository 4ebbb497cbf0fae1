import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, DEFAULTS, loadContainerConfig, splitSinks } from '../../../src/config/index.js';
import { ErrorCode, UserError } from '../../../src/core/errors.js';

const BASE = { SLUICE_PIPELINE: 'clickstream' };

/** The one-line error a configuration gives, checked for the contract: BAD_OPTION, one line. */
function refusal(env: Record<string, string | undefined>): string {
  try {
    loadContainerConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe(ErrorCode.BAD_OPTION);
    const message = (err as UserError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('the container configuration', () => {
  it('needs only the pipeline; everything else has the documented default', () => {
    const config = loadContainerConfig(BASE);
    expect(config).toMatchObject({
      pipeline: 'clickstream',
      source: undefined,
      sinks: undefined,
      deadLetter: undefined,
      checkpoint: undefined,
      checkpointInterval: '10s',
      shutdownTimeout: '25s',
      shutdownTimeoutMs: 25_000,
      perPartition: false,
      opsPort: 8081,
      opsHost: '0.0.0.0',
      logFormat: 'text',
      secretsSet: [],
    });
    // the table the README and `sluice start --help` print says the same
    const documented = Object.fromEntries(CONFIG_VARIABLES.map((v) => [v.name, (v as { default?: string }).default]));
    expect(documented['SLUICE_CHECKPOINT_INTERVAL']).toBe(DEFAULTS.checkpointInterval);
    expect(documented['SLUICE_SHUTDOWN_TIMEOUT']).toBe(DEFAULTS.shutdownTimeout);
    expect(documented['SLUICE_OPS_PORT']).toBe(String(DEFAULTS.opsPort));
    expect(documented['SLUICE_OPS_HOST']).toBe(DEFAULTS.opsHost);
  });

  it('reads every setting, trimmed, and treats an empty variable as unset', () => {
    const config = loadContainerConfig({
      ...BASE,
      SLUICE_SOURCE: ' generator:clickstream?rate=100 ',
      SLUICE_SINKS: 'file:out.jsonl,stdout:',
      SLUICE_DEAD_LETTER: 'dlq:file:dead.jsonl',
      SLUICE_LATE: 'drop',
      SLUICE_CHECKPOINT: 'file:/var/lib/sluice/checkpoints',
      SLUICE_CHECKPOINT_INTERVAL: '5000',
      SLUICE_SHUTDOWN_TIMEOUT: '1m30s',
      SLUICE_BATCH_SIZE: '2048',
      SLUICE_PER_PARTITION: 'true',
      SLUICE_JOURNAL: '/var/lib/sluice/journal',
      SLUICE_OPS_PORT: '9100',
      SLUICE_OPS_HOST: '127.0.0.1',
      SLUICE_LOG_FORMAT: 'json',
      SLUICE_MODEL_ENDPOINT_URL: '',
    });
    expect(config).toMatchObject({
      source: 'generator:clickstream?rate=100',
      sinks: ['file:out.jsonl', 'stdout:'],
      deadLetter: 'dlq:file:dead.jsonl',
      late: 'drop',
      checkpoint: 'file:/var/lib/sluice/checkpoints',
      checkpointInterval: '5000',
      shutdownTimeout: '1m30s',
      shutdownTimeoutMs: 90_000,
      batchSize: 2048,
      perPartition: true,
      journal: '/var/lib/sluice/journal',
      opsPort: 9100,
      opsHost: '127.0.0.1',
      logFormat: 'json',
      modelEndpointUrl: undefined,
    });
    expect(config.resources.checkpoint).toEqual({ kind: 'file', dir: '/var/lib/sluice/checkpoints' });
    expect(config.resources.deadLetter).toEqual({ kind: 'file', path: 'dead.jsonl' });
  });

  it.each([
    [{ SLUICE_PIPELINE: undefined }, /^SLUICE_PIPELINE: not set/],
    [{ SLUICE_PIPELINE: '  ' }, /^SLUICE_PIPELINE: not set/],
    [{ SLUICE_SOURCE: 'events.jsonl' }, /^SLUICE_SOURCE 'events.jsonl' is not a URL/],
    [{ SLUICE_SOURCE: 'ftp://x/y' }, /^SLUICE_SOURCE 'ftp:\/\/x\/y': unsupported scheme 'ftp:'/],
    [{ SLUICE_SOURCE: 'kafka://b-1:9092/clicks' }, /^SLUICE_SOURCE 'kafka:\/\/b-1:9092\/clicks': a Kafka source needs a consumer group/],
    [{ SLUICE_SINKS: 'file:a.jsonl,ftp://x' }, /^SLUICE_SINKS 'ftp:\/\/x': unsupported scheme 'ftp:'/],
    [{ SLUICE_SINKS: 'timestream://db' }, /^SLUICE_SINKS 'timestream:\/\/db': write timestream:\/\/DATABASE\/TABLE/],
    [{ SLUICE_SINKS: '[1, 2]' }, /^SLUICE_SINKS must be a JSON array of non-empty URL strings$/],
    [{ SLUICE_SINKS: 'file:a.jsonl,,stdout:' }, /^SLUICE_SINKS has an empty URL between commas/],
    [{ SLUICE_DEAD_LETTER: 'dlq:ftp://x' }, /^SLUICE_DEAD_LETTER 'ftp:\/\/x': unsupported scheme/],
    [{ SLUICE_LATE: 'keep' }, /^SLUICE_LATE 'keep' is not a URL/],
    [{ SLUICE_CHECKPOINT: 'redis://x' }, /^SLUICE_CHECKPOINT 'redis:\/\/x': unsupported scheme 'redis:'/],
    [{ SLUICE_CHECKPOINT_INTERVAL: '0' }, /^SLUICE_CHECKPOINT_INTERVAL '0' must be a whole number from 1/],
    [{ SLUICE_CHECKPOINT_INTERVAL: 'often' }, /^SLUICE_CHECKPOINT_INTERVAL 'often' is not a duration/],
    [{ SLUICE_SHUTDOWN_TIMEOUT: '25' }, /^SLUICE_SHUTDOWN_TIMEOUT '25' needs a unit/],
    [{ SLUICE_SHUTDOWN_TIMEOUT: '500ms' }, /^SLUICE_SHUTDOWN_TIMEOUT '500ms' must be at least 1s/],
    [{ SLUICE_BATCH_SIZE: '-1' }, /^SLUICE_BATCH_SIZE '-1' must be a whole number from 1 to 1000000$/],
    [{ SLUICE_PER_PARTITION: 'yes' }, /^SLUICE_PER_PARTITION 'yes' must be true or false$/],
    [{ SLUICE_OPS_PORT: '0' }, /^SLUICE_OPS_PORT '0' must be a whole number from 1 to 65535$/],
    [{ SLUICE_OPS_PORT: '80a' }, /^SLUICE_OPS_PORT '80a' must be a whole number/],
    [{ SLUICE_OPS_HOST: 'a b' }, /^SLUICE_OPS_HOST 'a b' is not a host name or IP address$/],
    [{ SLUICE_LOG_FORMAT: 'xml' }, /^SLUICE_LOG_FORMAT 'xml' must be text or json$/],
    [{ SLUICE_MODEL_ENDPOINT_URL: 'localhost:8080' }, /^SLUICE_MODEL_ENDPOINT_URL 'localhost:8080' must be http\(s\):\/\/HOST\[:PORT\]/],
  ])('refuses %j with one line naming the variable', (bad, message) => {
    expect(refusal({ ...BASE, ...bad })).toMatch(message);
  });

  it('reports the first bad variable in the documented order when several are wrong', () => {
    expect(refusal({ ...BASE, SLUICE_OPS_PORT: 'x', SLUICE_SINKS: 'nope', SLUICE_SHUTDOWN_TIMEOUT: 'y' })).toMatch(/^SLUICE_SINKS /);
  });

  it('takes a misspelt variable for what it is, rather than ignoring it', () => {
    expect(refusal({ ...BASE, SLUICE_SINK: 'file:out.jsonl' })).toBe('SLUICE_SINK: unknown variable; did you mean SLUICE_SINKS?');
    expect(refusal({ ...BASE, SLUICE_CHECKPIONT: 'file:ck' })).toBe('SLUICE_CHECKPIONT: unknown variable; did you mean SLUICE_CHECKPOINT?');
    // variables of other parts of Sluice, far from any configuration variable, are left alone
    expect(loadContainerConfig({ ...BASE, SLUICE_AWS_ENDPOINT: 'http://127.0.0.1:5000', SLUICE_TEST_KAFKA: '1' }).pipeline).toBe('clickstream');
  });
});

describe('secrets in the container configuration', () => {
  const SECRET = 'hunter2-VERY-secret';

  it('never shows a secret in a refusal, even one ECS injected whole from a JSON secret', () => {
    const message = refusal({ ...BASE, SLUICE_KAFKA_PASSWORD: `{"username":"sluice","password":"${SECRET}"}` });
    expect(message).toMatch(/^SLUICE_KAFKA_PASSWORD holds a whole JSON secret \(value not shown\); name the key/);
    expect(message).not.toContain(SECRET);
  });

  it('refuses a secret with white space around it, without showing it', () => {
    const message = refusal({ ...BASE, SLUICE_OPENSEARCH_PASSWORD: `${SECRET}\n` });
    expect(message).toBe('SLUICE_OPENSEARCH_PASSWORD has leading or trailing white space (value not shown); store the secret without it');
  });

  it('refuses credentials in URLs, where the task definition would show them, without echoing the URL', () => {
    const message = refusal({ ...BASE, SLUICE_SOURCE: `kafka://b-1:9096/clicks?group=g&sasl=scram-sha-512&username=u&password=${SECRET}` });
    expect(message).toMatch(/^SLUICE_SOURCE has a credential in a URL parameter/);
    expect(message).not.toContain(SECRET);
  });

  it('lists which secrets are set, never their values', () => {
    const config = loadContainerConfig({
      ...BASE,
      SLUICE_SOURCE: 'kafka://b-1:9096/clicks?group=g&tls=true&sasl=scram-sha-512',
      SLUICE_KAFKA_USERNAME: 'sluice',
      SLUICE_KAFKA_PASSWORD: SECRET,
    });
    expect(config.secretsSet).toEqual(['SLUICE_KAFKA_PASSWORD']);
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });

  it('says which secret a SASL source needs when it is missing', () => {
    expect(refusal({ ...BASE, SLUICE_SOURCE: 'kafka://b-1:9096/clicks?group=g&sasl=scram-sha-512&username=u' })).toMatch(
      /^SLUICE_SOURCE '.*': sasl=scram-sha-512 needs a password: set SLUICE_KAFKA_PASSWORD/,
    );
  });
});

describe('SLUICE_SINKS', () => {
  it('splits at commas before a scheme, keeping broker lists and parameter lists whole', () => {
    expect(splitSinks('kafka://b-1:9092,b-2:9092/out?key=page, file:a.jsonl,timestream://db/t?dimensions=a,b,dlq:firehose://dead')).toEqual([
      'kafka://b-1:9092,b-2:9092/out?key=page',
      'file:a.jsonl',
      'timestream://db/t?dimensions=a,b',
      'dlq:firehose://dead',
    ]);
  });

  it('takes a JSON array', () => {
    expect(splitSinks('["file:a,b.jsonl", "stdout:"]')).toEqual(['file:a,b.jsonl', 'stdout:']);
    expect(() => splitSinks('["file:a"')).toThrow(/is not a JSON array/);
  });
});

describe('what the URLs name', () => {
  it('describes sources and sinks for the deployment', () => {
    const config = loadContainerConfig({
      ...BASE,
      AWS_REGION: 'eu-west-1',
      SLUICE_SOURCE: 'kafka://b-1:9098,b-2:9098/clicks?group=views&sasl=iam',
      SLUICE_SINKS: 'firehose://views?region=us-east-1,timestream://analytics/views,opensearch://search-res-abc123.eu-west-1.es.amazonaws.com/views?auth=sigv4',
      SLUICE_DEAD_LETTER: 'dlq:firehose://dead',
    });
    expect(config.resources.source).toEqual({ kind: 'kafka', brokers: ['b-1:9098', 'b-2:9098'], topic: 'clicks', group: 'views', auth: 'iam', region: 'eu-west-1' });
    expect(config.resources.sinks).toEqual([
      { kind: 'firehose', deliveryStream: 'views', region: 'us-east-1' },
      { kind: 'timestream', database: 'analytics', table: 'views', region: 'eu-west-1' },
      { kind: 'opensearch', host: 'search-res-abc123.eu-west-1.es.amazonaws.com', auth: 'sigv4', service: 'es', region: 'eu-west-1' },
    ]);
    expect(config.resources.deadLetter).toEqual({ kind: 'firehose', deliveryStream: 'dead', region: 'eu-west-1' });
  });

  it('refuses connectors this build lacks at start-up, and takes them for the deployment', () => {
    const planned = { ...BASE, SLUICE_CHECKPOINT: 'dynamodb://sluice-checkpoints?region=eu-west-1' };
    expect(refusal(planned)).toBe("SLUICE_CHECKPOINT 'dynamodb://sluice-checkpoints?region=eu-west-1': the DynamoDB checkpoint store is not built into this version of Sluice yet (see README, Running on ECS)");
    const config = loadContainerConfig(planned, { planned: 'allow' });
    expect(config.resources.checkpoint).toEqual({ kind: 'dynamodb', table: 'sluice-checkpoints', region: 'eu-west-1' });
    expect(() => loadContainerConfig({ ...BASE, SLUICE_CHECKPOINT: 's3://Bad_Bucket/x' }, { planned: 'allow' })).toThrow(/^SLUICE_CHECKPOINT 's3:\/\/Bad_Bucket\/x': 'Bad_Bucket' is not an S3 bucket name$/);
  });

  it('takes the Kinesis source at start-up, checked by its own parser', () => {
    const config = loadContainerConfig({ ...BASE, SLUICE_SOURCE: 'kinesis://telemetry?app=telemetry-anomalies&consumer=sluice' });
    expect(config.resources.source).toEqual({ kind: 'kinesis', stream: 'telemetry', region: undefined, application: 'telemetry-anomalies', coordinator: 'native', consumer: 'sluice' });
    expect(refusal({ ...BASE, SLUICE_SOURCE: 'kinesis://telemetry?application=telemetry-anomalies' })).toMatch(/^SLUICE_SOURCE 'kinesis:\/\/telemetry\?application=telemetry-anomalies': unknown parameter 'application'/);
  });
});
