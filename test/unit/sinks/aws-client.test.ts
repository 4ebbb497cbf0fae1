import { describe, expect, it } from 'vitest';
import { awsClientConfig, isLoopbackUrl } from '../../../src/aws/client.js';

// The settings every AWS client (Firehose, Timestream, SageMaker Runtime) is made with: no SDK
// retries, and a loopback endpoint (moto, the local model server) that works without AWS
// credentials or region.

describe('awsClientConfig', () => {
  it('gives a loopback endpoint us-east-1 and dummy credentials, and turns the SDK retries off', () => {
    expect(awsClientConfig({ endpointUrl: 'http://127.0.0.1:5000', region: undefined, credentials: undefined, requestTimeoutMs: 30_000 })).toEqual({
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
      endpoint: 'http://127.0.0.1:5000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  it('keeps the region and credentials it is given, and leaves them to the SDK elsewhere', () => {
    const credentials = { accessKeyId: 'AKIA', secretAccessKey: 'secret' };
    expect(awsClientConfig({ endpointUrl: 'http://localhost:8080/', region: 'eu-west-1', credentials })).toEqual({
      maxAttempts: 1,
      endpoint: 'http://localhost:8080/',
      region: 'eu-west-1',
      credentials,
    });
    expect(awsClientConfig({ endpointUrl: 'https://firehose.eu-west-1.amazonaws.com', region: undefined, credentials: undefined })).toEqual({
      maxAttempts: 1,
      endpoint: 'https://firehose.eu-west-1.amazonaws.com',
    });
    expect(awsClientConfig({ endpointUrl: undefined, region: undefined, credentials: undefined })).toEqual({ maxAttempts: 1 });
  });
});

describe('isLoopbackUrl', () => {
  it.each(['http://127.0.0.1:5000', 'http://127.1.2.3', 'https://localhost:443/', 'http://[::1]:9000'])('takes %s as this machine', (url) => {
    expect(isLoopbackUrl(url)).toBe(true);
  });

  it.each(['http://10.0.0.1:5000', 'http://localhost.example.com', 'http://127.0.0.1:5000/path', undefined])('does not take %s', (url) => {
    expect(isLoopbackUrl(url)).toBe(false);
  });
});
