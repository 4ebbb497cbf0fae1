/**
 * The send time a load test embeds in each event, first in the JSON so the consumer side finds it
 * without parsing the event: `{"sentAt":1795000000123.457,"step":0,"eventId":…}`. Events stay
 * valid JSON for any pipeline; `sentAt` is the moment the record was due (epoch ms), not when the
 * sender got to it (see {@link OpenLoopSchedule}).
 *
 * @module
 */

const PREFIX = '{"sentAt":';
const PREFIX_BYTES = Buffer.from(PREFIX, 'latin1');
/** Enough bytes for the prefix, a 17-digit time and a step number. */
const HEAD_BYTES = 48;
const HEAD = /^\{"sentAt":(\d+(?:\.\d+)?),"step":(\d+),/;
/** `,"pad":""`: what padding costs before its first character. */
const PAD_OVERHEAD = Buffer.byteLength(',"pad":""');

/** The stamp of one event. */
export interface Stamp {
  /** When the record was due, epoch ms with fractions. */
  readonly sentAt: number;
  /** The step of the load it belongs to (0-based). */
  readonly step: number;
}

/**
 * A generated JSON line with the stamp put first and, when it is shorter than `recordSize` bytes,
 * a `pad` field of `x`s that brings it to exactly that size (longer events stay as they are).
 *
 * @example stampEvent('{"eventId":"gen-0:1"}', { sentAt: 1000.5, step: 0 }, 0) // '{"sentAt":1000.500,"step":0,"eventId":"gen-0:1"}'
 * @see readStamp
 */
export function stampEvent(line: string, stamp: Stamp, recordSize: number): string {
  const stamped = `${PREFIX}${stamp.sentAt.toFixed(3)},"step":${stamp.step},${line.slice(1)}`;
  const missing = recordSize - Buffer.byteLength(stamped) - PAD_OVERHEAD;
  if (missing < 0) return stamped;
  return `${stamped.slice(0, -1)},"pad":"${'x'.repeat(missing)}"}`;
}

/**
 * The stamp at the start of a raw record (bytes or text), or `null` for a record a load test did
 * not write.
 *
 * @example readStamp(Buffer.from('{"sentAt":1000.500,"step":2,"a":1}')) // { sentAt: 1000.5, step: 2 }
 * @see stampEvent
 */
export function readStamp(raw: Uint8Array | string): Stamp | null {
  let head: string;
  if (typeof raw === 'string') {
    if (!raw.startsWith(PREFIX)) return null;
    head = raw.slice(0, HEAD_BYTES);
  } else {
    for (let i = 0; i < PREFIX_BYTES.length; i++) if (raw[i] !== PREFIX_BYTES[i]) return null;
    head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, HEAD_BYTES)).toString('latin1');
  }
  const m = HEAD.exec(head);
  if (m === null) return null;
  return { sentAt: Number(m[1]), step: Number(m[2]) };
}
