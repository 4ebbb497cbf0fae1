/**
 * KPL aggregation: many small user records packed into one Kinesis record in the KPL format
 * (magic `f3 89 9a c2`, an `AggregatedRecord` protobuf, its MD5), which KCL, the Kinesis source of
 * Sluice, Lambda with `aws-kinesis-agg` and Firehose all de-aggregate. Kinesis bills records in
 * 25 KB PUT units and counts 1,000 records per second per shard, so a hundred 200-byte results
 * cost one unit aggregated instead of a hundred.
 *
 * The protobuf model is `aws-kinesis-agg`'s own; the tables are built here because its
 * `RecordAggregator` lists partition keys in object-key order, which puts keys such as `"7"`
 * before `"b"` and so gives user records the wrong partition key, and it counts key lengths in
 * UTF-16 units rather than bytes.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { putUnits } from './config.js';
import type { KinesisEntry } from './encoder.js';

/** The part of aws-kinesis-agg's protobuf model this file uses. */
interface AggregatedRecordType {
  encode(message: { partition_key_table: string[]; explicit_hash_key_table: string[]; records: { partition_key_index: number; data: Buffer; tags: [] }[] }): { finish(): Uint8Array };
}

// aws-kinesis-agg ships no types for its protobuf model (lib/common.js)
const common = createRequire(import.meta.url)('aws-kinesis-agg/lib/common.js') as { AggregatedRecord: AggregatedRecordType };

/** The KPL magic number every aggregated record starts with. */
export const KPL_MAGIC: Buffer = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
/** Magic number before the protobuf, MD5 after it. */
const AGGREGATION_OVERHEAD_BYTES = KPL_MAGIC.length + 16;

/**
 * One record as Kinesis receives it: a user record as it is, or an aggregated record of several.
 *
 * @see toKinesisRecords
 */
export interface KinesisRecord {
  readonly partitionKey: string;
  readonly data: Buffer;
  /** Indices into the write's entries, in order: one for a plain record, several for an aggregated one. */
  readonly entries: readonly number[];
  /** The group ({@link ShardOf}: the predicted shard, or the key) of an aggregated record; undefined for a plain one. */
  readonly shard: string | undefined;
  /** PUT units its entries would cost as plain records, summed. */
  readonly unaggregatedPutUnits: number;
}

/**
 * Which shard a partition key goes to (a group key: aggregated records only hold user records of
 * one group). Without a shard map, the partition key itself: then only records of one key share
 * an aggregated record.
 */
export type ShardOf = (partitionKey: string) => string;

/** One user record and its place in the write. */
export interface IndexedEntry extends KinesisEntry {
  readonly index: number;
}

/**
 * Options of {@link toKinesisRecords}.
 */
export interface AggregationOptions {
  readonly aggregate: boolean;
  /** Most bytes of a Kinesis record, data and partition key. */
  readonly maxRecordBytes: number;
  /** Default: the partition key itself. */
  readonly shardOf?: ShardOf | undefined;
}

/**
 * The bytes Kinesis counts for a record: data and partition key.
 *
 * @example recordBytes({ partitionKey: 'a', data: Buffer.from('xy') }) // 3
 */
export function recordBytes(record: KinesisEntry): number {
  return record.data.length + Buffer.byteLength(record.partitionKey);
}

/**
 * Turns user records into Kinesis records. Without aggregation each is a record. With it, user
 * records are grouped by shard (`shardOf`) and each group is packed greedily, in order, into
 * aggregated records of at most `maxRecordBytes`; each aggregated record's partition key is its
 * first user record's, which lands it on the shard all of its user records hash to — KCL drops
 * user records whose key belongs to another shard than the record that carries them. A group
 * of one, and a user record too large to share a record, go as plain records. Deterministic: the
 * same entries and shard map give the same bytes.
 *
 * Every entry must fit `maxRecordBytes` as a plain record (larger ones are rejected before this).
 *
 * @example toKinesisRecords(entries, { aggregate: true, maxRecordBytes: 1024 * 1024, shardOf })
 * @see aggregateEntries
 */
export function toKinesisRecords(entries: readonly IndexedEntry[], options: AggregationOptions): KinesisRecord[] {
  const plain = (e: IndexedEntry): KinesisRecord => ({ partitionKey: e.partitionKey, data: e.data, entries: [e.index], shard: undefined, unaggregatedPutUnits: putUnits(recordBytes(e)) });
  if (!options.aggregate) return entries.map(plain);
  const shardOf = options.shardOf ?? ((key: string) => key);
  const groups = new Map<string, IndexedEntry[]>();
  for (const entry of entries) {
    const shard = shardOf(entry.partitionKey);
    let group = groups.get(shard);
    if (group === undefined) groups.set(shard, (group = []));
    group.push(entry);
  }
  const records: KinesisRecord[] = [];
  for (const [shard, group] of groups) {
    for (const packed of pack(group, options.maxRecordBytes)) {
      const first = packed[0] as IndexedEntry;
      records.push(packed.length === 1 ? plain(first) : { ...aggregateEntries(packed), entries: packed.map((e) => e.index), shard, unaggregatedPutUnits: sum(packed.map((e) => putUnits(recordBytes(e)))) });
    }
  }
  return records;
}

/**
 * One aggregated record of `entries` in the KPL format; its partition key is the first entry's.
 * User records keep their own partition keys inside.
 *
 * @example aggregateEntries([{ partitionKey: 'a', data: Buffer.from('1') }, { partitionKey: 'b', data: Buffer.from('2') }]).partitionKey // 'a'
 */
export function aggregateEntries(entries: readonly KinesisEntry[]): KinesisEntry {
  const first = entries[0];
  if (first === undefined) throw new RangeError('an aggregated record holds at least one user record');
  const keys = new Map<string, number>();
  const records = entries.map((e) => {
    let index = keys.get(e.partitionKey);
    if (index === undefined) keys.set(e.partitionKey, (index = keys.size));
    return { partition_key_index: index, data: e.data, tags: [] as [] };
  });
  const body = common.AggregatedRecord.encode({ partition_key_table: [...keys.keys()], explicit_hash_key_table: [], records }).finish();
  const checksum = createHash('md5').update(body).digest();
  return { partitionKey: first.partitionKey, data: Buffer.concat([KPL_MAGIC, body, checksum]) };
}

/**
 * Exact size in bytes of the aggregated record {@link aggregateEntries} makes of `entries`,
 * partition key included, computed without encoding it.
 *
 * @example aggregatedBytes(entries) <= KINESIS_MAX_RECORD_BYTES
 */
export function aggregatedBytes(entries: readonly KinesisEntry[]): number {
  const size = new AggregateSize();
  for (const e of entries) size.add(e);
  return size.total(Buffer.byteLength(entries[0]?.partitionKey ?? ''));
}

/**
 * Greedy packing of one group, in order, within `maxRecordBytes`. A group of several always fits;
 * an entry too large to share a record stays alone (and then goes plain, where it fits).
 */
function pack(group: readonly IndexedEntry[], maxRecordBytes: number): IndexedEntry[][] {
  const out: IndexedEntry[][] = [];
  let current: IndexedEntry[] = [];
  let size = new AggregateSize();
  let firstKeyBytes = 0;
  for (const entry of group) {
    if (current.length > 0 && size.total(firstKeyBytes) + size.growth(entry) > maxRecordBytes) {
      out.push(current);
      current = [];
      size = new AggregateSize();
    }
    if (current.length === 0) firstKeyBytes = Buffer.byteLength(entry.partitionKey);
    current.push(entry);
    size.add(entry);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Protobuf size of an AggregatedRecord as it grows, entry by entry. */
class AggregateSize {
  /** Partition key table: key → index. */
  private readonly keys = new Map<string, number>();
  private body = 0;

  /** Bytes `entry` would add to the protobuf. */
  growth(entry: KinesisEntry): number {
    const known = this.keys.get(entry.partitionKey);
    // a new key adds a table entry; its index is the table's size
    const table = known === undefined ? lengthDelimited(Buffer.byteLength(entry.partitionKey)) : 0;
    // Record: partition_key_index (tag + varint) and data (tag + length + bytes)
    const inner = 1 + varintSize(known ?? this.keys.size) + lengthDelimited(entry.data.length);
    return table + lengthDelimited(inner);
  }

  add(entry: KinesisEntry): void {
    this.body += this.growth(entry);
    if (!this.keys.has(entry.partitionKey)) this.keys.set(entry.partitionKey, this.keys.size);
  }

  /** The whole record: magic, protobuf, MD5 and the partition key. */
  total(partitionKeyBytes: number): number {
    return AGGREGATION_OVERHEAD_BYTES + this.body + partitionKeyBytes;
  }
}

/** A length-delimited protobuf field: tag, length varint, bytes. */
function lengthDelimited(length: number): number {
  return 1 + varintSize(length) + length;
}

function varintSize(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
