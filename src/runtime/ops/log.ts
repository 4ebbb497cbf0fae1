/**
 * The few lines Sluice writes about itself — start-up, shutdown, and what went wrong — as the
 * familiar `sluice: …` text, or as pino JSON for CloudWatch Logs (`--log-format json`), with the
 * pipeline on every line and the partition where one is concerned. Normal operation writes
 * nothing else.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { DestinationStream, pino as Pino } from 'pino';

/** pino, loaded only when JSON is asked for: a plain CLI run does not pay for it at start-up. */
const loadPino = (): typeof Pino => (createRequire(import.meta.url)('pino') as { pino: typeof Pino }).pino;

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured fields of a line (JSON only; the text form already says them). */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Log {
  readonly format: LogFormat;
  info(line: string, fields?: LogFields): void;
  warn(line: string, fields?: LogFields): void;
  error(line: string, fields?: LogFields): void;
}

export interface LogOptions {
  readonly format: LogFormat;
  /** The pipeline every line names; undefined before one is known (command-line errors). */
  readonly pipeline?: string | undefined;
  /** Where text lines go (the CLI's stderr report). */
  readonly text: (line: string) => void;
  /** Where JSON lines go; default stderr, written synchronously so none is lost at exit. */
  readonly destination?: DestinationStream;
}

/**
 * A log for one run. Text lines are written as given; JSON lines carry the same sentence as
 * `msg` (without the `sluice: ` prefix), `level` as a word, an ISO `time`, `pipeline`, and the
 * fields.
 *
 * @example createLog({ format: 'json', pipeline: 'page-views', text: report }).warn('sluice: partition t/0 stalled', { partition: 't/0' })
 */
export function createLog(options: LogOptions): Log {
  if (options.format === 'text') {
    const write = (line: string): void => options.text(line);
    return { format: 'text', info: write, warn: write, error: write };
  }
  const pino = loadPino();
  const logger = pino(
    {
      base: options.pipeline === undefined ? {} : { pipeline: options.pipeline },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  const message = (line: string): string => line.replace(/^sluice: /, '');
  return {
    format: 'json',
    info: (line, fields = {}) => logger.info(fields, message(line)),
    warn: (line, fields = {}) => logger.warn(fields, message(line)),
    error: (line, fields = {}) => logger.error(fields, message(line)),
  };
}

/**
 * The log format a command line asks for, before commander has parsed it (for the lines written
 * when parsing fails): `--log-format F`, `--log-format=F`, else `SLUICE_LOG_FORMAT`, else text.
 *
 * @example logFormatOf(['run', 'x.ts', '--log-format', 'json'], {}) // 'json'
 */
export function logFormatOf(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LogFormat {
  let asked: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--log-format') asked = argv[i + 1];
    else if (arg.startsWith('--log-format=')) asked = arg.slice('--log-format='.length);
  });
  asked ??= env['SLUICE_LOG_FORMAT'];
  return asked === 'json' ? 'json' : 'text';
}
