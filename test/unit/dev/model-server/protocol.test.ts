import { describe, expect, it } from 'vitest';
import { checkFaults, Faults } from '../../../../src/dev/model-server/faults.js';
import type { LogisticModel } from '../../../../src/dev/model-server/models.js';
import { acceptedFormat, awsError, decodeRows, encodeScores, formatOf, modelError, PayloadError } from '../../../../src/dev/model-server/protocol.js';

const model: LogisticModel = { name: 'm', description: '', kind: 'logistic-regression', features: ['a', 'b'], mean: [0, 0], scale: [1, 1], weights: [1, 1], bias: 0, threshold: 0.5 };

describe('local endpoint payloads', () => {
  it('reads rows from CSV, JSON Lines and JSON in every shape of the common inference formats', () => {
    expect(decodeRows('1,2\r\n3,4\n', 'csv', model)).toEqual([[1, 2], [3, 4]]);
    expect(decodeRows('[1,2]\n{"features":[3,4]}\n{"b":6,"a":5}\n', 'jsonlines', model)).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(decodeRows('{"instances":[{"features":[1,2]},[3,4],{"a":5,"b":6}]}', 'json', model)).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(decodeRows('[[1,2],[3,4]]', 'json', model)).toEqual([[1, 2], [3, 4]]);
    expect(decodeRows('[1,2]', 'json', model)).toEqual([[1, 2]]);
    expect(decodeRows('{"a":1,"b":2}', 'json', model)).toEqual([[1, 2]]);
  });

  it('refuses rows the model cannot score, naming the row', () => {
    for (const [body, format, message] of [
      ['', 'csv', 'the body holds no rows'],
      ['1,2\n1,x\n', 'csv', "row 2: could not convert 'x' to a number"],
      ['1,,\n', 'csv', "row 1: could not convert '' to a number"],
      ['1,2,3\n', 'csv', 'row 1 has 3 values; the model takes 2 (a, b)'],
      ['{"a":1}\n', 'jsonlines', "row 1: missing feature 'b'"],
      ['{"a":1,"b":"2"}\n', 'jsonlines', 'row 1: feature \'b\' is "2", not a number'],
      ['{', 'json', 'body is not JSON'],
      ['"x"', 'json', 'row 1: expected an array of numbers or an object of features, got "x"'],
    ] as const) {
      expect(() => decodeRows(body, format, model)).toThrow(PayloadError);
      expect(() => decodeRows(body, format, model)).toThrow(message);
    }
  });

  it('answers in the format asked for, or the request format for */* and no Accept', () => {
    expect(formatOf('text/csv; charset=utf-8')).toBe('csv');
    expect(formatOf('application/JSONLINES')).toBe('jsonlines');
    expect(formatOf('application/octet-stream')).toBeUndefined();
    expect(acceptedFormat(undefined, 'csv')).toBe('csv');
    expect(acceptedFormat('*/*', 'jsonlines')).toBe('jsonlines');
    expect(acceptedFormat('image/png, application/json;q=0.9', 'csv')).toBe('json');
    expect(acceptedFormat('image/png', 'csv')).toBeUndefined();
    const scores = [{ score: 0.25, predicted_label: 0 as const }];
    expect(encodeScores(scores, 'csv')).toBe('0.25\n');
    expect(encodeScores(scores, 'jsonlines')).toBe('{"score":0.25,"predicted_label":0}\n');
    expect(encodeScores(scores, 'json')).toBe('{"predictions":[{"score":0.25,"predicted_label":0}]}');
  });

  it('shapes errors as the service does: modelled ones with Message, common ones with message', () => {
    expect(awsError('ValidationError', 'bad')).toEqual({ status: 400, type: 'ValidationError', body: { Message: 'bad' } });
    expect(awsError('ThrottlingException', 'Rate exceeded')).toEqual({ status: 400, type: 'ThrottlingException', body: { message: 'Rate exceeded' } });
    expect(modelError('m', 500, 'boom')).toMatchObject({ status: 424, type: 'ModelError', body: { OriginalStatusCode: 500, OriginalMessage: 'boom' } });
  });
});

describe('local endpoint faults', () => {
  it('fails and throttles the next N invocations, then none', () => {
    const faults = new Faults({ failNext: 2, throttleNext: 1, errorType: 'InternalFailure', latencyMs: 7 });
    expect([1, 2, 3, 4].map(() => faults.decide(1))).toEqual([
      { throttle: true, error: undefined, delayMs: 0, hold: false },
      { throttle: false, error: 'InternalFailure', delayMs: 7, hold: false },
      { throttle: false, error: 'InternalFailure', delayMs: 7, hold: false },
      { throttle: false, error: undefined, delayMs: 7, hold: false },
    ]);
  });

  it('throttles invocations beyond maxConcurrency in flight', () => {
    const faults = new Faults({ maxConcurrency: 2 });
    expect([1, 2, 3].map((inFlight) => faults.decide(inFlight).throttle)).toEqual([false, false, true]);
  });

  it('draws rates and jitter from its seed: the same settings decide the same way', () => {
    const run = (): unknown[] => {
      const faults = new Faults({ errorRate: 0.3, throttleRate: 0.2, jitterMs: 50, seed: 9 });
      return Array.from({ length: 200 }, () => faults.decide(1));
    };
    const decisions = run();
    expect(run()).toEqual(decisions);
    const throttled = decisions.filter((d) => (d as { throttle: boolean }).throttle).length;
    expect(throttled).toBeGreaterThan(20);
    expect(throttled).toBeLessThan(60);
  });

  it('refuses fault settings it cannot apply, naming the field', () => {
    expect(() => checkFaults({ errorRate: -0.1 })).toThrow('errorRate must be between 0 and 1, got -0.1');
    expect(() => checkFaults({ latencyMs: 1.5 })).toThrow('latencyMs must be a whole number ≥ 0, got 1.5');
    expect(() => checkFaults({ maxConcurrency: 0 })).toThrow('maxConcurrency must be at least 1');
    expect(() => checkFaults({ errorType: 'Oops' })).toThrow('errorType must be one of ServiceUnavailable');
    expect(() => checkFaults({ hold: 'yes' })).toThrow('hold must be true or false');
    expect(() => checkFaults([])).toThrow('faults must be a JSON object');
  });
});
