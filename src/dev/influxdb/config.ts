/**
 * The configuration file of a local influxd (InfluxDB 1.x TOML): everything it writes under one
 * temp folder, every listener on loopback, nothing that phones home or opens other ports.
 */

/** What the generated configuration needs to know. */
export interface InfluxdConfigOptions {
  /** The temp folder that holds `meta/`, `data/` and `wal/`. */
  readonly dir: string;
  /** Loopback port of the HTTP API (`/write`, `/query`, `/ping`). */
  readonly httpPort: number;
  /** Loopback port of the RPC service that backup and restore use. */
  readonly rpcPort: number;
  /** Turns on authentication for the HTTP API. */
  readonly auth: boolean;
}

/**
 * The TOML text of the configuration. Paths are written as TOML basic strings (JSON's string
 * syntax is a subset of them), so any folder name is safe.
 *
 * @example influxdConfig({ dir: '/tmp/sluice-influxdb-1-x', httpPort: 8086, rpcPort: 8088, auth: false })
 */
export function influxdConfig(options: InfluxdConfigOptions): string {
  const path = (name: string): string => JSON.stringify(`${options.dir}/${name}`);
  return [
    '# Written by Sluice (src/dev/influxdb); removed with its folder when the server stops.',
    // the daily usage report to InfluxData; off by default in Debian's file, off here explicitly
    'reporting-enabled = false',
    // the RPC service for backup and restore listens on all interfaces at 8088 unless told
    `bind-address = "127.0.0.1:${options.rpcPort}"`,
    '',
    '[meta]',
    `  dir = ${path('meta')}`,
    '  retention-autocreate = true',
    '  logging-enabled = true',
    '',
    '[data]',
    `  dir = ${path('data')}`,
    `  wal-dir = ${path('wal')}`,
    '  query-log-enabled = false',
    '',
    '[monitor]',
    // no _internal database filled every 10 s: tests see only their own databases
    '  store-enabled = false',
    '',
    '[http]',
    '  enabled = true',
    `  bind-address = "127.0.0.1:${options.httpPort}"`,
    `  auth-enabled = ${String(options.auth)}`,
    '  log-enabled = true',
    '  pprof-enabled = false',
    '',
    // the ifql RPC service (a Flux preview in 1.6) listens on :8082 on every interface by default
    '[ifql]',
    '  enabled = false',
    '',
    '[subscriber]',
    '  enabled = false',
    '',
    '[continuous_queries]',
    '  enabled = false',
    '',
    '[logging]',
    '  format = "logfmt"',
    '  level = "info"',
    '  suppress-logo = true',
    '',
  ].join('\n');
}
