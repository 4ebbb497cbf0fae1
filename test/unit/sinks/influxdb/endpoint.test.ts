import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../../src/core/errors.js';
import { parseInfluxUrl, redactUrl, Secret } from '../../../../src/sinks/influxdb/endpoint.js';

const TOKEN = { SLUICE_INFLUXDB_TOKEN: 'secret-token-value' };

function badUrl(text: string, env: Record<string, string> = TOKEN, flag = '--sink'): UserError {
  try {
    parseInfluxUrl(text, flag, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe(ErrorCode.BAD_URL);
    expect((err as UserError).message).not.toContain('\n');
    return err as UserError;
  }
  throw new Error(`accepted ${text}`);
}

describe('parseInfluxUrl', () => {
  it('defaults to the v2 API over plain HTTP, with the token from the environment', () => {
    const endpoint = parseInfluxUrl('influxdb://db.internal:8086/metrics?org=acme', '--sink', TOKEN);
    expect(endpoint).toMatchObject({ api: 'v2', baseUrl: 'http://db.internal:8086', address: 'db.internal:8086', bucket: 'metrics', org: 'acme', tls: false, measurement: undefined });
    expect(endpoint.auth.kind).toBe('token');
    expect(endpoint.auth.kind === 'token' && endpoint.auth.token.reveal()).toBe('secret-token-value');
  });

  it('takes tls, measurement, IPv6 hosts and percent-encoded buckets', () => {
    const endpoint = parseInfluxUrl('influxdb://[::1]:8181/my%20bucket?org=o&tls=true&measurement=page_views', '--sink', TOKEN);
    expect(endpoint).toMatchObject({ baseUrl: 'https://[::1]:8181', bucket: 'my bucket', tls: true, measurement: 'page_views' });
  });

  it('with api=v1 takes the database, and basic credentials only as a pair', () => {
    expect(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', {})).toMatchObject({ api: 'v1', bucket: 'sluice', org: undefined, auth: { kind: 'none' } });
    const env = { SLUICE_INFLUXDB_USERNAME: 'writer', SLUICE_INFLUXDB_PASSWORD: 'pw' };
    expect(parseInfluxUrl('influxdb://127.0.0.1:8086/sluice?api=v1', '--sink', env).auth).toMatchObject({ kind: 'basic', username: 'writer' });
    expect(badUrl('influxdb://127.0.0.1:8086/sluice?api=v1', { SLUICE_INFLUXDB_USERNAME: 'writer' }).message).toMatch(/both SLUICE_INFLUXDB_USERNAME and SLUICE_INFLUXDB_PASSWORD/);
  });

  it('names the flag and says what to write for malformed URLs', () => {
    const cases: [string, RegExp][] = [
      ['influx://h:8086/b?org=o', /write influxdb:\/\/HOST:PORT\/BUCKET/],
      ['influxdb://h/b?org=o', /'h' is not HOST:PORT \(the port is required/],
      ['influxdb://h:99999/b?org=o', /port 99999/],
      ['influxdb://h:8086/?org=o', /bucket .* is missing/],
      ['influxdb://h:8086/b', /needs the organization: add \?org=NAME/],
      ['influxdb://h:8086/b?org=o&api=v3', /api must be v1 or v2, got 'v3'/],
      ['influxdb://h:8086/b?org=o&tls=yes', /tls must be true or false/],
      ['influxdb://h:8086/b?org=o&db=x', /unknown parameter 'db'; use org, tls, api, measurement/],
      ['influxdb://h:8086/b?org=o&org=p', /more than once/],
      ['influxdb://h:8086/b?api=v1&org=o', /org is for api=v2/],
      ['influxdb://h:8086/b?org=o&measurement=%23x', /measurement '#x' starts with '#'/],
      ['influxdb://h:8086/b%zz?org=o', /not valid percent-encoding/],
    ];
    for (const [url, why] of cases) {
      const err = badUrl(url, TOKEN, '--dead-letter');
      expect(err.message.startsWith(`--dead-letter '`)).toBe(true);
      expect(err.message).toMatch(why);
    }
  });

  it('asks for the token when the v2 API has none', () => {
    expect(badUrl('influxdb://h:8086/metrics?org=o', {}).message).toMatch(/API token with write access to bucket 'metrics': set SLUICE_INFLUXDB_TOKEN/);
  });

  it('never echoes a credential put in the URL, and points to the environment instead', () => {
    const err = badUrl('influxdb://h:8086/b?org=o&token=hunter2');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('token=***');
    expect(err.message).toMatch(/never from the URL/);
    expect(badUrl('influxdb://h:8086/b?api=v1&u=me&p=hunter2', {}).message).not.toContain('hunter2');
  });
});

describe('Secret', () => {
  it('shows *** everywhere except reveal()', () => {
    const endpoint = parseInfluxUrl('influxdb://h:8086/b?org=o', '--sink', TOKEN);
    expect(JSON.stringify(endpoint)).not.toContain('secret-token-value');
    expect(inspect(endpoint, { depth: 5 })).not.toContain('secret-token-value');
    expect(String(new Secret('x'))).toBe('***');
  });
});

describe('redactUrl', () => {
  it('hides values of secret-looking parameters only', () => {
    expect(redactUrl('influxdb://h:1/b?org=o&password=pw&Token=t&measurement=m')).toBe('influxdb://h:1/b?org=o&password=***&Token=***&measurement=m');
  });
});
