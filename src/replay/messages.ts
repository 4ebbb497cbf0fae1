/**
 * Captured records as Kafka messages, and the partition rule for records without a key.
 *
 * @module
 */
import type { Message } from 'kafkajs';
import { valueBytes, type CaptureRecord } from './capture-format.js';

const BASE64_TEXT = /^base64:((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/;

/**
 * Turns captured records into kafkajs messages for a topic of `partitions` partitions.
 *
 * Keys and header values become bytes again ({@link textBytes}). Keyed records carry no
 * partition: the producer's default partitioner hashes the key with murmur2 as the Java client
 * does, so a key lands in the partition it came from whenever the topic has as many partitions
 * as the original.
 *
 * Records without a key cannot be placed by hash. They go to their captured partition number
 * modulo the topic's partition count — the same partition when the topic has that many. Captures
 * of sources whose partitions are names (files, the generator) number the names in the order they
 * first appear in the capture (`gen-0` → 0 …), the same numbering on every `--loop` pass. Either
 * way one captured partition goes to one topic partition, so its records keep their order.
 *
 * @example new MessageEncoder(3).message({ partition: 'gen-1', offset: 1, timestamp: null, key: null, headers: {}, value: '{}' })
 * @see openKafkaTarget
 */
export class MessageEncoder {
  private readonly numbers = new Map<string, number>();

  constructor(private readonly partitions: number) {
    if (!Number.isSafeInteger(partitions) || partitions < 1) throw new RangeError(`a topic has at least one partition, got ${partitions}`);
  }

  /** The message for one record. */
  message(record: CaptureRecord): Message {
    const headers: Record<string, Buffer> = {};
    for (const [name, value] of Object.entries(record.headers)) headers[name] = textBytes(value);
    const message: Message = { value: valueBytes(record.value), headers };
    if (record.key !== null) message.key = textBytes(record.key);
    else message.partition = this.keylessPartition(record.partition);
    return message;
  }

  /** The topic partition of a captured partition's records that have no key. */
  keylessPartition(captured: string | number): number {
    if (typeof captured === 'number') return captured % this.partitions;
    let n = this.numbers.get(captured);
    if (n === undefined) {
      n = this.numbers.size;
      this.numbers.set(captured, n);
    }
    return n % this.partitions;
  }
}

/**
 * A captured key or header value as the bytes it stands for: text as UTF-8, `base64:…` (how the
 * Kafka source writes bytes that are not text) decoded. Java's StringSerializer writes UTF-8, so
 * text keys hash as they did when a Java producer wrote them.
 *
 * @example textBytes('base64:AP8=') // <Buffer 00 ff>
 */
export function textBytes(text: string): Buffer {
  const m = BASE64_TEXT.exec(text);
  return m === null ? Buffer.from(text, 'utf8') : Buffer.from(m[1] as string, 'base64');
}
