import { InvalidArgumentError, type Command } from 'commander';
import { ErrorCode, UserError } from '../core/errors.js';
import { startKafka, type KafkaBroker, type KafkaScramUser, type StartKafkaOptions } from '../dev/kafka/index.js';
import { runModelServer } from '../dev/model-server/index.js';
import { startMoto } from '../dev/moto/index.js';
import { OPENSEARCH_VERSION, startOpenSearch } from '../dev/opensearch/index.js';
import { influxQuery, startInfluxDB } from '../dev/influxdb/index.js';
import { DYNALITE_VERSION, KINESIS_LOCAL_VERSION, startDynamoLocal, startKinesisLocal, type DynamoLocal, type KinesisLocal } from '../dev/kinesis/index.js';
import { DYNAMODB_ENDPOINT_ENV, KINESIS_ENDPOINT_ENV } from '../kinesis/endpoint.js';
import type { CliIo } from './common.js';

/** Exit codes of a second signal while stopping, as a shell reports death by that signal. */
const FORCED_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Parses `--port`: a TCP port number. Whether it is free is checked when the broker starts.
 *
 * @example portNumber('9092') // 9092
 */
export function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) throw new InvalidArgumentError('must be a port number from 1 to 65535.');
  return port;
}

/** Flags of `sluice dev kafka`; `scram` as typed (`USER[:PASSWORD]`), parsed by {@link scramUser}. */
export interface DevKafkaFlags {
  readonly port?: number | undefined;
  readonly scram?: string | undefined;
  readonly saslPort?: number | undefined;
}

/**
 * Parses `--scram USER[:PASSWORD]` (the password may contain ':'; without one it comes from
 * `SLUICE_KAFKA_PASSWORD`, as for Kafka URLs, so it need not show in the process list). Checked
 * here rather than by commander, whose error would quote the argument, password and all.
 *
 * @example scramUser('alice:alice-secret', {}) // { username: 'alice', password: 'alice-secret' }
 */
export function scramUser(value: string, env: Readonly<Record<string, string | undefined>> = process.env): KafkaScramUser {
  const colon = value.indexOf(':');
  const username = colon < 0 ? value : value.slice(0, colon);
  const password = colon < 0 ? env['SLUICE_KAFKA_PASSWORD'] : value.slice(colon + 1);
  if (username === '') throw new UserError(ErrorCode.BAD_OPTION, '--scram needs a user name: write --scram USER:PASSWORD, or --scram USER with SLUICE_KAFKA_PASSWORD set');
  if (password === undefined || password === '') {
    throw new UserError(ErrorCode.BAD_OPTION, `--scram needs a password for '${username}': write --scram ${username}:PASSWORD, or set SLUICE_KAFKA_PASSWORD`);
  }
  return { username, password };
}

/**
 * `sluice dev …`: local peers for development. `sluice dev kafka [--port P] [--scram USER:PASSWORD
 * [--sasl-port P]]` runs a real Kafka broker in the foreground until Ctrl-C; `sluice dev kinesis
 * [--port P] [--dynamodb-port P] [--streams name:shards,…]` kinesis-local and dynalite; `sluice
 * dev model-server [--port P]` the local SageMaker-compatible model endpoint.
 *
 * @example devCommand(program, io) // sluice dev kafka --port 9092 --scram alice:alice-secret
 * @see runDevKafka
 * @see runDevModelServer
 */
export function devCommand(program: Command, io: CliIo): void {
  const dev = program.command('dev').description('run local peers for development, in the foreground');
  dev
    .command('kafka')
    .description('run a single-node Kafka broker on 127.0.0.1 until Ctrl-C (a container when Docker answers, else the local JDK)')
    .option('--port <port>', 'port for clients (default: a free one)', portNumber)
    .option(
      '--scram <user:password>',
      'also listen for SASL/SCRAM clients (SHA-256 and SHA-512) with this user on a second port (the JDK broker); ' +
        'the password from SLUICE_KAFKA_PASSWORD when not given',
    )
    .option('--sasl-port <port>', 'with --scram: port for SASL clients (default: a free one)', portNumber)
    .action(async (flags: DevKafkaFlags) => {
      await runDevKafka(flags, io);
    });
  dev
    .command('aws')
    .description('run the delivery sinks\' local peers on 127.0.0.1 until Ctrl-C: moto (Firehose → S3, Timestream), OpenSearch, InfluxDB')
    .option('--only <peers>', `some of them, comma-separated: ${AWS_PEERS.join(', ')}`)
    .option('--moto-port <port>', 'port for moto (default: a free one)', portNumber)
    .option('--opensearch-port <port>', 'port for OpenSearch (default: a free one)', portNumber)
    .option('--influxdb-port <port>', 'port for InfluxDB (default: a free one)', portNumber)
    .action(async (flags: DevAwsFlags) => {
      await runDevAws(flags, io);
    });
  dev
    .command('kinesis')
    .description('run a local Kinesis (kinesis-local) and DynamoDB for lease tables (dynalite) until Ctrl-C')
    .option('--port <port>', 'port for Kinesis (default: a free one)', portNumber)
    .option('--dynamodb-port <port>', 'port for DynamoDB (default: a free one)', portNumber)
    .option('--streams <name:shards,...>', 'streams to create at start, e.g. clicks:2,orders:1', streamShards)
    .action(async (flags: DevKinesisFlags) => {
      await runDevKinesis(flags, io);
    });
  dev
    .command('model-server')
    .description('run the local SageMaker-compatible endpoint (models telemetry-anomaly and clickstream-purchase) on 127.0.0.1 until Ctrl-C')
    .option('--port <port>', 'port for clients (default: a free one)', portNumber)
    .action(async (flags: { port?: number }) => {
      await runDevModelServer(flags, io);
    });
}

/**
 * Runs the local model endpoint in the foreground: reports its address and endpoint names in one
 * line, serves until SIGINT or SIGTERM, then closes and resolves, so the process exits 0. Point
 * the built-in prediction pipelines at it with `SLUICE_MODEL_ENDPOINT_URL`. A port that is taken
 * or not ours to bind is a one-line error.
 *
 * @example await runDevModelServer({ port: 8080 }, io) // sluice: SageMaker-compatible endpoints telemetry-anomaly, clickstream-purchase are running at http://127.0.0.1:8080 (Ctrl-C stops them)
 * @see runModelServer
 */
export async function runDevModelServer(flags: { readonly port?: number | undefined }, io: CliIo): Promise<void> {
  try {
    await runModelServer(flags.port === undefined ? {} : { port: flags.port }, io.report);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'EADDRINUSE') throw new UserError(ErrorCode.BAD_OPTION, `--port ${String(flags.port)} is taken on 127.0.0.1; choose another or leave --port out for a free one`);
    if (code === 'EACCES') throw new UserError(ErrorCode.BAD_OPTION, `--port ${String(flags.port)} needs privileges to listen on; choose a port above 1023`);
    throw err;
  }
}

/**
 * Starts the local broker, reports its address in one line, and waits for SIGINT or SIGTERM;
 * then stops it (removing its data) and resolves, so the process exits 0. Nothing else is
 * printed: the first run installs Kafka silently (a minute or so), and the broker's own log
 * stays in its work folder. A second signal while stopping exits at once; the broker dies with
 * the process.
 *
 * @example await runDevKafka({ port: 9092 }, io) // sluice: Kafka is running at 127.0.0.1:9092 (Ctrl-C stops it)
 * @see startKafka
 */
export async function runDevKafka(flags: DevKafkaFlags, io: CliIo): Promise<void> {
  const options = startOptions(flags);
  await inForeground(async () => {
    const broker = await startKafka(options);
    return { lines: [`sluice: Kafka is running at ${addresses(broker, options.scram)} (Ctrl-C stops it)`], stop: () => broker.stop() };
  }, io);
}

/** A peer started in the foreground: what to tell the user, and how to stop it. */
interface Foreground {
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts peers, reports them, and waits for SIGINT or SIGTERM; then stops them and resolves, so
 * the process exits 0. Signals are listened to from the start: a Ctrl-C during a (first, slow)
 * start stops the peers as soon as they are up. A second signal while stopping exits at once;
 * the peers die with the process.
 */
async function inForeground(start: () => Promise<Foreground>, io: CliIo): Promise<void> {
  let stopRequested = false;
  let requestStop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) process.exit(FORCED_EXIT[signal] ?? 1);
    stopRequested = true;
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const running = await start();
    try {
      if (!stopRequested) for (const line of running.lines) io.report(line);
      await stopSignal;
    } finally {
      await running.stop();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Flags of `sluice dev kinesis`. */
export interface DevKinesisFlags {
  readonly port?: number | undefined;
  readonly dynamodbPort?: number | undefined;
  readonly streams?: Readonly<Record<string, number>> | undefined;
}

/**
 * Parses `--streams name:shards,…` into stream name → shard count.
 *
 * @example streamShards('clicks:2,orders:1') // { clicks: 2, orders: 1 }
 */
export function streamShards(value: string): Record<string, number> {
  const streams: Record<string, number> = {};
  for (const entry of value.split(',')) {
    const m = /^\s*([^:\s]+):(\d+)\s*$/.exec(entry);
    const shards = Number(m?.[2]);
    if (m?.[1] === undefined || !(shards >= 1)) throw new InvalidArgumentError(`write name:shards, comma-separated, with at least 1 shard each (got '${entry}').`);
    streams[m[1]] = shards;
  }
  return streams;
}

/**
 * Runs kinesis-local and dynalite in the foreground, installed on first use; prints where they
 * are and the environment that points Sluice's Kinesis source and sink and its lease tables at
 * them, and stops both on Ctrl-C.
 *
 * @example await runDevKinesis({ port: 4568, streams: { clicks: 2 } }, io) // sluice: Kinesis (kinesis-local 0.6.2) at http://127.0.0.1:4568 …
 * @see startKinesisLocal
 * @see startDynamoLocal
 */
export async function runDevKinesis(flags: DevKinesisFlags, io: CliIo): Promise<void> {
  await inForeground(async () => {
    const port = (value: number | undefined): { port?: number } => (value === undefined ? {} : { port: value });
    const started = await Promise.allSettled([
      startKinesisLocal({ ...port(flags.port), ...(flags.streams === undefined ? {} : { streams: flags.streams }) }),
      startDynamoLocal(port(flags.dynamodbPort)),
    ]);
    const stopAll = async (): Promise<void> => {
      await Promise.allSettled(started.map((peer) => (peer.status === 'fulfilled' ? peer.value.stop() : undefined)));
    };
    const [kinesis, dynamo] = started;
    if (kinesis.status === 'rejected' || dynamo.status === 'rejected') {
      await stopAll();
      throw kinesis.status === 'rejected' ? kinesis.reason : (dynamo as PromiseRejectedResult).reason;
    }
    return { lines: kinesisLines(kinesis.value, dynamo.value, flags.streams), stop: stopAll };
  }, io);
}

function kinesisLines(kinesis: KinesisLocal, dynamo: DynamoLocal, streams: Readonly<Record<string, number>> | undefined): string[] {
  const created = Object.entries(streams ?? {}).map(([name, shards]) => `${name} (${shards} shard${shards === 1 ? '' : 's'})`);
  const env = `${KINESIS_ENDPOINT_ENV}=${kinesis.endpoint} ${DYNAMODB_ENDPOINT_ENV}=${dynamo.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`;
  return [
    `sluice: Kinesis (kinesis-local ${KINESIS_LOCAL_VERSION}) at ${kinesis.endpoint}${created.length === 0 ? '' : ` with streams ${created.join(', ')}`}; it listens on every interface`,
    `sluice: DynamoDB (dynalite ${DYNALITE_VERSION}) at ${dynamo.endpoint}`,
    `sluice: for Sluice: ${env}`,
    'sluice: Ctrl-C stops them',
  ];
}

/** Flags of `sluice dev aws`. */
export interface DevAwsFlags {
  readonly only?: string | undefined;
  readonly motoPort?: number | undefined;
  readonly opensearchPort?: number | undefined;
  readonly influxdbPort?: number | undefined;
}

const AWS_PEERS = ['moto', 'opensearch', 'influxdb'] as const;
type AwsPeer = (typeof AWS_PEERS)[number];
/** The database `sluice dev aws` creates in its InfluxDB, ready for `influxdb://…/sluice?api=v1`. */
const INFLUX_DATABASE = 'sluice';

/**
 * Runs the local peers of the delivery sinks in the foreground: moto (Firehose → S3, Timestream,
 * S3), a real OpenSearch node and InfluxDB, each on a loopback port, installed on first use.
 * Prints one line per peer with what to give Sluice, and stops them all on Ctrl-C.
 *
 * @example await runDevAws({ only: 'moto,influxdb' }, io)
 */
export async function runDevAws(flags: DevAwsFlags, io: CliIo): Promise<void> {
  const peers = peersOf(flags.only);
  await inForeground(async () => {
    const started = new Map<AwsPeer, Foreground>();
    const stopAll = async (): Promise<void> => {
      await Promise.allSettled([...started.values()].map((peer) => peer.stop()));
    };
    try {
      await Promise.all(peers.map(async (peer) => started.set(peer, await startAwsPeer(peer, flags))));
    } catch (err) {
      await stopAll();
      throw err;
    }
    const lines = AWS_PEERS.flatMap((peer) => started.get(peer)?.lines ?? []);
    return { lines: [...lines, 'sluice: Ctrl-C stops them'], stop: stopAll };
  }, io);
}

/** Starts one peer of `sluice dev aws` and says what to give Sluice to reach it. */
async function startAwsPeer(peer: AwsPeer, flags: DevAwsFlags): Promise<Foreground> {
  const port = (value: number | undefined): { port?: number } => (value === undefined ? {} : { port: value });
  const hostPort = (url: string): string => url.replace(/^http:\/\//, '');
  switch (peer) {
    case 'moto': {
      const moto = await startMoto(port(flags.motoPort));
      const env = `SLUICE_AWS_ENDPOINT=${moto.endpoint} AWS_ENDPOINT_URL=${moto.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`;
      return { lines: [`sluice: moto (Firehose → S3, Timestream, S3) at ${moto.endpoint}; for Sluice and the AWS CLI: ${env}`], stop: () => moto.stop() };
    }
    case 'opensearch': {
      const node = await startOpenSearch(port(flags.opensearchPort));
      return { lines: [`sluice: OpenSearch ${OPENSEARCH_VERSION} at ${node.url}; --sink opensearch://${hostPort(node.url)}/INDEX`], stop: () => node.stop() };
    }
    case 'influxdb': {
      const influx = await startInfluxDB(port(flags.influxdbPort));
      try {
        await influxQuery(influx.url, `CREATE DATABASE ${INFLUX_DATABASE}`);
      } catch (err) {
        await influx.stop();
        throw err;
      }
      return { lines: [`sluice: InfluxDB 1.x at ${influx.url}; --sink 'influxdb://${hostPort(influx.url)}/${INFLUX_DATABASE}?api=v1'`], stop: () => influx.stop() };
    }
  }
}

function peersOf(only: string | undefined): AwsPeer[] {
  if (only === undefined) return [...AWS_PEERS];
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(AWS_PEERS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UserError(ErrorCode.BAD_OPTION, `--only '${only}': choose from ${AWS_PEERS.join(', ')}, comma-separated`);
  }
  return [...new Set(names)] as AwsPeer[];
}

/** The flags as {@link startKafka} options; rejects `--sasl-port` without `--scram`. */
function startOptions(flags: DevKafkaFlags): StartKafkaOptions {
  if (flags.scram === undefined && flags.saslPort !== undefined) throw new UserError(ErrorCode.BAD_OPTION, '--sasl-port needs --scram USER:PASSWORD');
  const scram = flags.scram === undefined ? undefined : { ...scramUser(flags.scram), ...(flags.saslPort === undefined ? {} : { port: flags.saslPort }) };
  return { ...(flags.port === undefined ? {} : { port: flags.port }), ...(scram === undefined ? {} : { scram }) };
}

/** Where clients connect, the SASL listener with its user (never the password) when there is one. */
function addresses(broker: KafkaBroker, scram: KafkaScramUser | undefined): string {
  if (broker.saslBootstrap === undefined || scram === undefined) return broker.bootstrap;
  return `${broker.bootstrap}, and with SASL/SCRAM-SHA-256 or -512 as '${scram.username}' at ${broker.saslBootstrap}`;
}
