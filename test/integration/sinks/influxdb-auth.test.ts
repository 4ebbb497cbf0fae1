import { describe, expect, it } from 'vitest';
import { ErrorCode, type UserError } from '../../../src/core/errors.js';
import { openInfluxSink, parseInfluxUrl } from '../../../src/sinks/influxdb/index.js';
import { useInfluxDB } from '../../support/influxdb.js';
import { oneLineUserErrorOf } from '../../support/failures.js';

// The InfluxDB sink against a real influxd with authentication on: the v1 API's basic
// authentication from SLUICE_INFLUXDB_USERNAME / SLUICE_INFLUXDB_PASSWORD, and one-line errors
// for missing or wrong credentials and missing permissions that never show the password.

const ADMIN = { username: 'admin', password: 'admin-secret' };
const influx = useInfluxDB({ admin: ADMIN });
const FAST = { retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 20 } };

const open = (db: string, env: Record<string, string>) => openInfluxSink(parseInfluxUrl(`influxdb://${influx.address}/${db}?api=v1`, '--sink', env), FAST);

async function failureOf(promise: Promise<unknown>): Promise<UserError> {
  const err = await oneLineUserErrorOf(promise);
  expect(err.code).toBe(ErrorCode.UNWRITABLE_OUTPUT);
  return err;
}

describe('InfluxDB sink with authentication (v1 API)', () => {
  it('writes with the user and password from the environment', async () => {
    const db = await influx.createDatabase();
    const sink = await open(db, { SLUICE_INFLUXDB_USERNAME: ADMIN.username, SLUICE_INFLUXDB_PASSWORD: ADMIN.password });
    expect(await sink.write([{ id: 'a', key: { page: '/' }, windowStart: 0, windowEnd: 60_000, revision: 0, count: 3 }])).toBeUndefined();
    await sink.close();
    const [series] = await influx.select(db, 'SELECT "count" FROM "sluice"');
    expect(series?.values).toEqual([[0, 3]]);
  });

  it('says which variables to set when the server wants credentials and got none', async () => {
    const db = await influx.createDatabase();
    expect((await failureOf(open(db, {}))).message).toMatch(
      new RegExp(`^InfluxDB at ${influx.address} requires authentication \\(HTTP 401: .+\\); set SLUICE_INFLUXDB_USERNAME and SLUICE_INFLUXDB_PASSWORD$`),
    );
  });

  it('reports refused credentials without the password', async () => {
    const db = await influx.createDatabase();
    const err = await failureOf(open(db, { SLUICE_INFLUXDB_USERNAME: ADMIN.username, SLUICE_INFLUXDB_PASSWORD: 'wrong-guess-123' }));
    expect(err.message).toBe(`InfluxDB at ${influx.address} rejected the credentials (HTTP 401: authorization failed); check SLUICE_INFLUXDB_USERNAME and SLUICE_INFLUXDB_PASSWORD`);
    expect(err.message).not.toContain('wrong-guess-123');
  });

  it('names the user and database when the user may not write there', async () => {
    const db = await influx.createDatabase();
    await influx.exec(`CREATE USER "reader" WITH PASSWORD 'reader-secret'`);
    await influx.exec(`GRANT READ ON "${db}" TO "reader"`);
    const err = await failureOf(open(db, { SLUICE_INFLUXDB_USERNAME: 'reader', SLUICE_INFLUXDB_PASSWORD: 'reader-secret' }));
    expect(err.message).toMatch(new RegExp(`^InfluxDB at ${influx.address} does not let user 'reader' write to database '${db}' \\(HTTP 403: .+\\); grant write access or use other credentials$`));
  });
});
