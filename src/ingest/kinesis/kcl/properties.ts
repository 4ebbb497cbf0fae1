/**
 * The MultiLangDaemon's configuration for a `kinesis://STREAM?coordinator=kcl&app=APP` source:
 * the `app.properties` file it reads, and the logback configuration that keeps its own log off
 * the protocol's stdout. Pure functions of the endpoint, so they are unit-tested as text.
 *
 * @module
 */
import type { KinesisEndpoint } from '../../../kinesis/endpoint.js';

/** What the properties need besides the endpoint. */
export interface KclPropertiesOptions {
  /**
   * The command the daemon starts once per shard lease it holds. It splits it on spaces (no
   * quoting), so it is a path to a script without spaces.
   */
  readonly executable: string;
  /** How long the daemon's shutdown hook waits for processors to finish after SIGTERM. */
  readonly shutdownGraceMs: number;
  /** The region when the URL and the environment name none (the daemon needs one). */
  readonly defaultRegion?: string;
}

/** Used when no region is given: local peers ignore it, and KCL requires one. */
export const KCL_DEFAULT_REGION = 'us-east-1';

/**
 * `app.properties` for the MultiLangDaemon. Notes on the choices:
 *
 * - `metricsLevel = NONE`: KCL's CloudWatch client has no endpoint override, so metrics would
 *   go to real CloudWatch (or fail) even against local peers; Sluice has its own metrics.
 * - `retrievalMode = POLLING` unless the URL names a fan-out consumer (KCL's default is FANOUT).
 * - `callProcessRecordsEvenForEmptyRecordList = true`: the protocol only carries a checkpoint
 *   while an action is in progress, so an idle shard would otherwise hold its latest Sluice
 *   checkpoint back from the lease table until new records arrive.
 * - AT_TIMESTAMP goes in `initialPositionInStreamExtended` as epoch seconds (the daemon's
 *   converter multiplies by 1000); the record processor drops what arrived in the same second
 *   before the millisecond asked for.
 *
 * @example kclProperties(parseKinesisUrl('kinesis://clicks?coordinator=kcl&app=views', 'source'), { executable: '/tmp/x/processor.sh', shutdownGraceMs: 20_000 })
 * @see logbackConfiguration
 */
export function kclProperties(endpoint: KinesisEndpoint, options: KclPropertiesOptions): string {
  if (endpoint.app === undefined) throw new Error('KCL mode needs an application name');
  const lines: [string, string | number | boolean][] = [
    ['executableName', options.executable],
    ['streamName', endpoint.stream],
    ['applicationName', endpoint.app],
    ['processingLanguage', `nodejs/${process.versions.node}`],
    ['AwsCredentialsProvider', 'DefaultCredentialsProvider'],
    ['regionName', endpoint.region ?? options.defaultRegion ?? KCL_DEFAULT_REGION],
  ];
  switch (endpoint.start.kind) {
    case 'trim_horizon':
      lines.push(['initialPositionInStream', 'TRIM_HORIZON']);
      break;
    case 'latest':
      lines.push(['initialPositionInStream', 'LATEST']);
      break;
    case 'timestamp':
      lines.push(['initialPositionInStream', 'AT_TIMESTAMP'], ['initialPositionInStreamExtended', Math.floor(endpoint.start.time / 1000)]);
      break;
  }
  if (endpoint.endpointUrl !== undefined) lines.push(['kinesisEndpoint', endpoint.endpointUrl]);
  if (endpoint.dynamodbEndpointUrl !== undefined) lines.push(['dynamoDBEndpoint', endpoint.dynamodbEndpointUrl]);
  lines.push(['metricsLevel', 'NONE']);
  if (endpoint.consumer === undefined) {
    lines.push(['retrievalMode', 'POLLING']);
  } else {
    // a nested bean property: BeanUtils sets it through getFanoutConfig().setConsumerName
    lines.push(['retrievalMode', 'FANOUT'], ['fanoutConfig.consumerName', endpoint.consumer]);
  }
  lines.push(
    ['failoverTimeMillis', endpoint.failoverMs],
    ['maxRecords', endpoint.maxRecords],
    ['idleTimeBetweenReadsInMillis', endpoint.idleMs],
    ['callProcessRecordsEvenForEmptyRecordList', true],
    ['shutdownGraceMillis', options.shutdownGraceMs],
  );
  return lines.map(([key, value]) => `${key} = ${escapeValue(String(value))}`).join('\n') + '\n';
}

/**
 * logback.xml for the daemon (found on its classpath): its own log goes to `logFile`; the lines
 * Sluice's record processors write on their stderr (which the daemon drains and logs as
 * "Received error line from subprocess [LINE] for shard S") go to the daemon's stderr as
 * `S: LINE`, and the daemon's own errors to stderr too. Nothing goes to stdout.
 *
 * @example logbackConfiguration('/tmp/sluice-kcl-1/daemon.log')
 */
export function logbackConfiguration(logFile: string): string {
  const file = escapeXml(logFile);
  return `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${file}</file>
    <encoder><pattern>%d{ISO8601} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <appender name="PROCESSORS" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%replace(%msg){'^Received error line from subprocess \\[(.*)\\] for shard (.*)$', '$1'}%n</pattern></encoder>
  </appender>
  <appender name="ERRORS" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>ERROR</level></filter>
    <encoder><pattern>kcl: %-5level %logger{0} - %msg%n</pattern></encoder>
  </appender>
  <logger name="software.amazon.kinesis.multilang.DrainChildSTDERRTask" level="INFO" additivity="false">
    <appender-ref ref="PROCESSORS"/>
    <appender-ref ref="FILE"/>
  </logger>
  <root level="INFO">
    <appender-ref ref="FILE"/>
    <appender-ref ref="ERRORS"/>
  </root>
</configuration>
`;
}

/** Java properties: backslashes and leading spaces need escaping; ours hold neither usually. */
function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
