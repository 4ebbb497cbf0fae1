/**
 * InfluxDB for integration tests: a real server per test file (Debian's influxd 1.6, installed
 * with apt-get on first use), and databases with unique names so tests in one file never see
 * each other's points.
 *
 * `useInfluxDB()` starts the server in `beforeAll` with the same helper a future
 * `sluice dev influxdb` would use (src/dev/influxdb) and stops it in `afterAll`. Set
 * SLUICE_TEST_INFLUXDB=http://HOST:PORT to point the tests at a server you already run instead
 * (without authentication); a file that asks for an admin user always starts its own.
 */
import { randomUUID } from 'node:crypto';
import { influxQuery, startInfluxDB, type InfluxSeries, type QueryCredentials } from '../../src/dev/influxdb/index.js';
import { usePeer } from './peer.js';

/** First start installs the package with apt-get (~3 s here, longer on a slow mirror). */
export const INFLUXDB_START_TIMEOUT_MS = 300_000;

export interface TestInfluxDB {
  /** `http://127.0.0.1:PORT`; read it inside tests or hooks, not at collection time. */
  readonly url: string;
  /** `127.0.0.1:PORT`, as `influxdb://` URLs take it. */
  readonly address: string;
  /** Creates a database named `<prefix>_<random>` and returns the name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Runs InfluxQL against `db` (as the admin user when there is one) and returns its series. */
  select(db: string, statement: string): Promise<readonly InfluxSeries[]>;
  /** Runs an InfluxQL statement that needs no database (users, grants), as the admin user. */
  exec(statement: string): Promise<void>;
}

export interface UseInfluxDBOptions {
  /** Turns authentication on, with this user holding all privileges. */
  readonly admin?: QueryCredentials;
}

/**
 * Registers hooks that give the calling test file (or `describe` block) its own InfluxDB.
 *
 * @example
 * const influx = useInfluxDB();
 * it('stores points', async () => {
 *   const db = await influx.createDatabase();
 *   const sink = await openInfluxSink(parseInfluxUrl(`influxdb://${influx.address}/${db}?api=v1`, '--sink'));
 *   // …
 *   const series = await influx.select(db, 'SELECT * FROM "sluice" GROUP BY *');
 * });
 */
export function useInfluxDB(options: UseInfluxDBOptions = {}): TestInfluxDB {
  const server = usePeer({
    given: options.admin === undefined ? process.env['SLUICE_TEST_INFLUXDB'] : undefined,
    start: () => startInfluxDB(options.admin === undefined ? {} : { admin: options.admin }),
    addressOf: (started) => started.url,
    timeoutMs: INFLUXDB_START_TIMEOUT_MS,
    name: 'useInfluxDB(): the server',
  });
  const base = (): string => server.address();
  const credentials = options.admin === undefined ? {} : { credentials: options.admin };
  return {
    get url() {
      return base();
    },
    get address() {
      return new URL(base()).host;
    },
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${randomUUID().slice(0, 8)}`;
      await influxQuery(base(), `CREATE DATABASE "${name}"`, credentials);
      return name;
    },
    async select(db, statement) {
      const answer = await influxQuery(base(), statement, { db, ...credentials });
      return answer.results?.[0]?.series ?? [];
    },
    async exec(statement) {
      await influxQuery(base(), statement, credentials);
    },
  };
}
