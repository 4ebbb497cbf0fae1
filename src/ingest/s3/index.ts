import type { PartitionReader, Source } from '../../core/connectors.js';
import type { Position } from '../../core/envelope.js';
import { ErrorCode, UserError, messageOf } from '../../core/errors.js';
import { S3ObjectReader } from './reader.js';
import type { S3Object, S3Service } from './service.js';

export { S3ObjectReader } from './reader.js';
export type { S3Object, S3Service } from './service.js';

const HOUR_MS = 3_600_000;
/** Hours listed one prefix each; wider ranges list the whole prefix and filter keys. */
const MAX_HOUR_LISTINGS = 24 * 62;

/** `s3://BUCKET/PREFIX` split; the prefix gets a trailing `/` when it has none. */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * Parses `s3://BUCKET[/PREFIX]`.
 *
 * @example parseS3Url('s3://logs/clicks') // { bucket: 'logs', prefix: 'clicks/' }
 */
export function parseS3Url(text: string, flag = '--from'): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text);
  if (m === null) throw new UserError(ErrorCode.BAD_URL, `${flag} '${text}' is not an S3 address; write s3://BUCKET/PREFIX`);
  const prefix = m[2] ?? '';
  return { bucket: m[1] as string, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

/** The Firehose hour prefix of a time: `YYYY/MM/DD/HH/` (UTC). */
export function hourPrefix(time: number): string {
  const d = new Date(time);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCHours())}/`;
}

/** The hour (epoch ms) a key's `YYYY/MM/DD/HH/` path names, right after `prefix`; undefined if none. */
export function hourOfKey(key: string, prefix: string): number | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(key.slice(prefix.length));
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
}

/** Options of {@link s3Source}. */
export interface S3SourceOptions extends S3Location {
  /** Only hours at or after this (epoch ms); null: from the first. */
  readonly start: number | null;
  /** Only hours before this (epoch ms); null: to the last. */
  readonly end: number | null;
  readonly batchSize: number;
  readonly service: S3Service;
}

/**
 * Objects of a Firehose layout (`PREFIX/YYYY/MM/DD/HH/…`) whose hour lies in `[start, end)`:
 * an hour is selected when it overlaps the range, so a range inside one hour reads that hour.
 */
export async function listHours(options: Omit<S3SourceOptions, 'batchSize'>): Promise<S3Object[]> {
  const { service, bucket, prefix, start, end } = options;
  const first = start === null ? null : Math.floor(start / HOUR_MS) * HOUR_MS;
  const inRange = (hour: number): boolean => (first === null || hour >= first) && (end === null || hour < end);
  try {
    if (first !== null && end !== null && (end - first) / HOUR_MS <= MAX_HOUR_LISTINGS) {
      const out: S3Object[] = [];
      for (let hour = first; hour < end; hour += HOUR_MS) out.push(...(await service.list(bucket, prefix + hourPrefix(hour))));
      return out;
    }
    return (await service.list(bucket, prefix)).filter((o) => {
      const hour = hourOfKey(o.key, prefix);
      return hour !== undefined && inRange(hour);
    });
  } catch (err) {
    throw new UserError(ErrorCode.UNREADABLE_INPUT, `cannot list 's3://${bucket}/${prefix}': ${messageOf(err).split('\n')[0] ?? ''}`, { cause: err });
  }
}

/**
 * The source behind a backfill's `--from s3://BUCKET/PREFIX`: one partition per object, read in
 * key order, resumable by object and line.
 *
 * @example const source = s3Source({ bucket: 'b', prefix: 'clicks/', start, end, batchSize: 1024, service })
 * @see S3ObjectReader
 * @see fileSource
 */
export function s3Source(options: S3SourceOptions, objects?: readonly S3Object[]): Source {
  const readers: PartitionReader[] = [];
  return {
    get description() {
      return `s3://${options.bucket}/${options.prefix}`;
    },
    async open(resume?: ReadonlyMap<string, Position>) {
      const listed = objects ?? (await listHours(options));
      const opened = listed.map((o) => {
        const at = resume?.get(`s3://${options.bucket}/${o.key}`)?.['line'];
        return new S3ObjectReader(options.service, { bucket: options.bucket, key: o.key, batchSize: options.batchSize, afterLine: typeof at === 'number' ? at : undefined });
      });
      readers.push(...opened);
      return opened;
    },
    async close() {
      await Promise.all(readers.splice(0).map((r) => r.close()));
      options.service.close();
    },
  };
}
