import { describe, expect, it } from 'vitest';
import { ErrorCode, type UserError } from '../../../../src/core/errors.js';
import { compileIndexName, parseOpenSearchUrl } from '../../../../src/sinks/opensearch/index.js';
import { userErrorOf } from '../../../support/failures.js';

function failure(run: () => unknown): UserError {
  const err = userErrorOf(run);
  expect(err.code).toBe(ErrorCode.BAD_URL);
  return err;
}

const NO_ENV = {};

describe('opensearch:// URLs', () => {
  it('reads host, port and index of a plain self-managed cluster', () => {
    const endpoint = parseOpenSearchUrl('opensearch://127.0.0.1:9201/results', '--sink', NO_ENV);
    expect(endpoint).toMatchObject({ node: 'http://127.0.0.1:9201', tls: false, auth: { kind: 'none' } });
    expect(endpoint.index).toMatchObject({ pattern: 'results', dated: false });
  });

  it('defaults the port to 9200, or 443 with TLS', () => {
    expect(parseOpenSearchUrl('opensearch://search.local/r', '--sink', NO_ENV).node).toBe('http://search.local:9200');
    expect(parseOpenSearchUrl('opensearch://search.local/r?tls=true', '--sink', NO_ENV).node).toBe('https://search.local:443');
    expect(parseOpenSearchUrl('opensearch://[::1]:9200/r', '--sink', NO_ENV).node).toBe('http://[::1]:9200');
  });

  it('signs with SigV4 for auth=sigv4: region from the URL or AWS_REGION, service es by default, TLS implied', () => {
    const url = 'opensearch://search-x.eu-west-1.es.amazonaws.com/results-%Y.%m.%d?auth=sigv4';
    expect(parseOpenSearchUrl(`${url}&region=eu-west-1`, '--sink', NO_ENV)).toMatchObject({
      node: 'https://search-x.eu-west-1.es.amazonaws.com:443',
      tls: true,
      auth: { kind: 'sigv4', region: 'eu-west-1', service: 'es' },
    });
    expect(parseOpenSearchUrl(url, '--sink', { AWS_REGION: 'us-east-2' }).auth).toEqual({ kind: 'sigv4', region: 'us-east-2', service: 'es' });
    expect(parseOpenSearchUrl(`${url}&service=aoss&region=eu-west-1`, '--sink', NO_ENV).auth).toEqual({ kind: 'sigv4', region: 'eu-west-1', service: 'aoss' });
    expect(parseOpenSearchUrl(`${url}&region=eu-west-1&tls=false`, '--sink', NO_ENV).node).toBe('http://search-x.eu-west-1.es.amazonaws.com:9200');
  });

  it('takes basic-auth credentials from the environment only', () => {
    const env = { SLUICE_OPENSEARCH_USERNAME: 'writer', SLUICE_OPENSEARCH_PASSWORD: 's3cret' };
    expect(parseOpenSearchUrl('opensearch://h:9200/r', '--sink', env).auth).toEqual({ kind: 'basic', username: 'writer', password: 's3cret' });
    expect(parseOpenSearchUrl('opensearch://h:9200/r?auth=none', '--sink', env).auth).toEqual({ kind: 'none' });
    const inUrl = failure(() => parseOpenSearchUrl('opensearch://writer:s3cret@h:9200/r', '--sink', NO_ENV));
    expect(inUrl.message).toBe("--sink 'opensearch://***@h:9200/r': credentials do not belong in the URL; set SLUICE_OPENSEARCH_USERNAME and SLUICE_OPENSEARCH_PASSWORD");
    expect(inUrl.message).not.toContain('s3cret');
  });

  it.each([
    ['opensearch:/h:9200/r', "write opensearch://HOST:PORT/INDEX"],
    ['http://h:9200/r', 'write opensearch://HOST:PORT/INDEX'],
    ['opensearch://h:99999/r', 'port 99999 is not from 1 to 65535'],
    ['opensearch://h_x:9200/r', "'h_x:9200' is not HOST or HOST:PORT"],
    ['opensearch://h:9200/', 'is empty'],
    ['opensearch://h:9200', 'is empty'],
    ['opensearch://h:9200/Results', 'upper-case'],
    ['opensearch://h:9200/_results', "starts with '-', '_' or '+'"],
    ['opensearch://h:9200/a,b', "contains ','"],
    ['opensearch://h:9200/a*', "contains '*'"],
    ['opensearch://h:9200/r-%Y-%j', "'%j' in index 'r-%Y-%j' is not a date token; use %Y, %m, %d, %H"],
    [`opensearch://h:9200/${'r'.repeat(256)}`, 'longer than 255 bytes'],
    ['opensearch://h:9200/r?shards=3', "unknown parameter 'shards'; use tls, auth, region, service"],
    ['opensearch://h:9200/r?tls=yes', "tls must be true or false, got 'yes'"],
    ['opensearch://h:9200/r?tls=true&tls=false', "parameter 'tls' is given more than once"],
    ['opensearch://h:9200/r?auth=iam', "auth must be none, basic, sigv4, got 'iam'"],
    ['opensearch://h:9200/r?auth=sigv4', 'auth=sigv4 needs the domain region: add &region=REGION or set AWS_REGION'],
    ['opensearch://h:9200/r?auth=sigv4&region=Ireland', "'Ireland' is not an AWS region such as eu-west-1"],
    ['opensearch://h:9200/r?auth=sigv4&region=eu-west-1&service=opensearch', "service must be es (Amazon OpenSearch Service) or aoss (OpenSearch Serverless), got 'opensearch'"],
    ['opensearch://h:9200/r?region=eu-west-1', "'region' is for auth=sigv4"],
    ['opensearch://h:9200/r?auth=basic', 'auth=basic needs a user: set SLUICE_OPENSEARCH_USERNAME'],
  ])('refuses %s naming the flag and the problem', (url, why) => {
    const message = failure(() => parseOpenSearchUrl(url, '--sink', NO_ENV)).message;
    expect(message.startsWith(`--sink '${url}': `)).toBe(true);
    expect(message).toContain(why);
  });

  it('names the option the URL came from, and wants a password along with a user', () => {
    const message = failure(() => parseOpenSearchUrl('opensearch://h:9200/r', '--dead-letter', { SLUICE_OPENSEARCH_USERNAME: 'writer' })).message;
    expect(message).toBe("--dead-letter 'opensearch://h:9200/r': basic auth as 'writer' needs a password: set SLUICE_OPENSEARCH_PASSWORD");
  });
});

describe('index names', () => {
  it('fills %Y, %m, %d and %H from the time in UTC', () => {
    const name = compileIndexName('results-%Y.%m.%d-%H');
    expect(name.dated).toBe(true);
    expect(name.at(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('results-2026.01.02-03');
    expect(name.at(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('results-2026.12.31-23');
    expect(compileIndexName('results-%Y.%m.%d').at(Date.UTC(2026, 2, 2) - 1)).toBe('results-2026.03.01');
  });

  it('leaves a name without tokens as it is', () => {
    const name = compileIndexName('page-views');
    expect(name.dated).toBe(false);
    expect(name.at(0)).toBe('page-views');
  });
});
