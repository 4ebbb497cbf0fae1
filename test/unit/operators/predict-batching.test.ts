import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../../../src/operators/predict.js';
import { buildCalls } from '../../../src/operators/predict/request-builder.js';
import { decodePredictions, encodeRecord, FeatureError, ResponseError } from '../../../src/operators/predict/encoder.js';
import { classifyFailure } from '../../../src/operators/predict/retry.js';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });

describe('predict request building', () => {
  it('groups consecutive records by count, skipping events with nothing to send', () => {
    const plan = buildCalls(['a\n', undefined, 'b\n', 'c\n', 'd\n', 'e\n'], { batchSize: 2, maxPayloadBytes: MAX_PAYLOAD_BYTES });
    expect(plan.calls.map((c) => [c.indices, c.body, c.bytes])).toEqual([
      [[0, 2], 'a\nb\n', 4],
      [[3, 4], 'c\nd\n', 4],
      [[5], 'e\n', 2],
    ]);
    expect(plan.oversize).toEqual([]);
  });

  it('starts a new call before the body would pass the payload limit, and sets aside records over it alone', () => {
    const plan = buildCalls(['aaaa\n', 'bbbb\n', 'c\n', 'dddddddddddd\n', 'e\n'], { batchSize: 100, maxPayloadBytes: 11 });
    expect(plan.calls.map((c) => c.indices)).toEqual([[0, 1], [2, 4]]);
    expect(plan.calls.every((c) => c.bytes <= 11)).toBe(true);
    expect(plan.oversize).toEqual([{ index: 3, bytes: 13 }]);
  });

  it('measures the payload in UTF-8 bytes, not characters', () => {
    // 'é' is two bytes: three records of 3 characters are 4 bytes each
    const plan = buildCalls(['éé\n', 'éé\n', 'éé\n'], { batchSize: 10, maxPayloadBytes: 10 });
    expect(plan.calls.map((c) => c.indices)).toEqual([[0, 1], [2]]);
  });

  it('packs a batch of 6 MB-sized records one per call at the real limit', () => {
    const big = 'x'.repeat(4 * 1024 * 1024) + '\n';
    const plan = buildCalls([big, big, 'y\n'], { batchSize: 64, maxPayloadBytes: MAX_PAYLOAD_BYTES });
    expect(plan.calls.map((c) => c.indices)).toEqual([[0], [1, 2]]);
    expect(MAX_PAYLOAD_BYTES).toBe(6_291_456);
  });
});

describe('predict encoding', () => {
  it('writes JSON Lines records as {"features": […]} or as the named features, and CSV rows as numbers', () => {
    expect(encodeRecord([1, 2.5, -3], 'jsonlines')).toBe('{"features":[1,2.5,-3]}\n');
    expect(encodeRecord({ speed: 3, count: 2 }, 'jsonlines')).toBe('{"speed":3,"count":2}\n');
    expect(encodeRecord([1, 2.5, -3], 'csv')).toBe('1,2.5,-3\n');
  });

  it('refuses features that are not finite numbers, or named features in CSV', () => {
    for (const [features, format, message] of [
      [[1, Number.POSITIVE_INFINITY], 'csv', 'feature 1 is Infinity, not a finite number'],
      [[1, '2'], 'jsonlines', 'feature 1 is "2", not a finite number'],
      [{ a: null }, 'jsonlines', "feature 'a' is null, not a finite number"],
      [[], 'csv', 'features are empty'],
      [{ a: 1 }, 'csv', 'the csv format needs features as an array of numbers in model order, got an object'],
      ['1,2', 'csv', 'features must be an array of numbers or an object of numbers, got "1,2"'],
    ] as const) {
      expect(() => encodeRecord(features, format)).toThrow(FeatureError);
      expect(() => encodeRecord(features, format)).toThrow(message);
    }
  });

  it('reads one prediction per record from JSON Lines, CSV and JSON answers', () => {
    expect(decodePredictions(utf8('{"score":0.9,"predicted_label":1}\n{"score":0.1,"predicted_label":0}\n'), 'application/jsonlines', 2)).toEqual([
      { score: 0.9, predicted_label: 1 },
      { score: 0.1, predicted_label: 0 },
    ]);
    expect(decodePredictions(utf8('0.25\r\n0.5,1\nyes\n'), 'text/csv; charset=utf-8', 3)).toEqual([0.25, [0.5, 1], 'yes']);
    expect(decodePredictions(utf8('{"predictions":[{"score":1},{"score":2}]}'), 'application/json', 2)).toEqual([{ score: 1 }, { score: 2 }]);
    expect(decodePredictions(utf8('[3,4]'), 'application/json', 2)).toEqual([3, 4]);
  });

  it('refuses answers it cannot pair with the records sent', () => {
    for (const [body, type, message] of [
      ['{"score":1}\n', 'application/jsonlines', 'the endpoint answered 1 predictions for 2 records'],
      ['{"score":1}\nnot json\n', 'application/jsonlines', 'response line 2 is not JSON'],
      ['{"result":[1,2]}', 'application/json', 'the endpoint answered JSON without a "predictions" list'],
      ['1\n2\n', 'application/x-recordio-protobuf', "the endpoint answered 'application/x-recordio-protobuf', which predict cannot read"],
    ] as const) {
      expect(() => decodePredictions(utf8(body), type, 2)).toThrow(ResponseError);
      expect(() => decodePredictions(utf8(body), type, 2)).toThrow(message);
    }
  });
});

describe('predict failure classification', () => {
  it('tells throttling, timeouts, retriable server trouble, fatal request errors and an open breaker apart', () => {
    expect(classifyFailure(sdkError('ThrottlingException', 400))).toBe('throttled');
    expect(classifyFailure(sdkError('ModelNotReadyException', 429))).toBe('throttled');
    expect(classifyFailure(sdkError('Unknown', 429))).toBe('throttled');
    expect(classifyFailure(new TaskCancelledError('timed out'))).toBe('timeout');
    expect(classifyFailure(sdkError('ServiceUnavailable', 503))).toBe('retriable');
    expect(classifyFailure(sdkError('InternalFailure', 500))).toBe('retriable');
    expect(classifyFailure(sdkError('InternalDependencyException', 530))).toBe('retriable');
    expect(classifyFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('retriable');
    expect(classifyFailure(sdkError('ModelError', 424, { OriginalStatusCode: 500 }))).toBe('retriable');
    expect(classifyFailure(sdkError('ModelError', 424, { OriginalStatusCode: 400 }))).toBe('fatal');
    expect(classifyFailure(sdkError('ValidationError', 400))).toBe('fatal');
    expect(classifyFailure(new ResponseError('answered 1 predictions for 2 records'))).toBe('fatal');
    expect(classifyFailure(new BrokenCircuitError())).toBe('breaker-open');
  });
});
