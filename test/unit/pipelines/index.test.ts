import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { TELEMETRY_WINDOW_MS } from '../../../src/dev/model-server/features.js';
import { BUILTIN_PIPELINES, builtinPipeline } from '../../../src/pipelines/index.js';
import clickstream from '../../../src/pipelines/clickstream.js';
import telemetry from '../../../src/pipelines/telemetry.js';

describe('built-in pipelines', () => {
  it('are listed by name, each reading its generator by default and writing nowhere by default', () => {
    expect(Object.fromEntries(Object.entries(BUILTIN_PIPELINES).map(([name, d]) => [name, [d.name, d.defaults.source, d.defaults.sinks]]))).toEqual({
      clickstream: ['clickstream', 'generator:clickstream', undefined],
      'clickstream-sessions': ['clickstream-sessions', 'generator:clickstream', undefined],
      'clickstream-purchases': ['clickstream-purchases', 'generator:clickstream', undefined],
      telemetry: ['telemetry', 'generator:telemetry', undefined],
      'telemetry-braking': ['telemetry-braking', 'generator:telemetry', undefined],
      'telemetry-anomalies': ['telemetry-anomalies', 'generator:telemetry', undefined],
    });
  });

  it('window as documented: 2 s out of order, 30 s allowed lateness', () => {
    const windows = Object.fromEntries(Object.values(BUILTIN_PIPELINES).map((d) => [d.name, [d.window?.assigner, d.window?.allowedLateness, d.watermarks?.maxOutOfOrderness]]));
    expect(windows).toEqual({
      clickstream: [{ kind: 'tumbling', size: 60_000, offset: 0 }, 30_000, 2000],
      'clickstream-sessions': [{ kind: 'session', gap: 1_800_000 }, 30_000, 2000],
      'clickstream-purchases': [{ kind: 'session', gap: 1_800_000 }, 30_000, 2000],
      telemetry: [{ kind: 'sliding', size: 60_000, slide: 10_000, offset: 0 }, 30_000, 2000],
      'telemetry-braking': [{ kind: 'tumbling', size: 300_000, offset: 0 }, 30_000, 2000],
      // the features the telemetry-anomaly model was trained on are per 1-minute tumbling window
      'telemetry-anomalies': [{ kind: 'tumbling', size: TELEMETRY_WINDOW_MS, offset: 0 }, 30_000, 2000],
    });
  });

  it('build each prediction pipeline once, with a predict step after its window', () => {
    const anomalies = BUILTIN_PIPELINES['telemetry-anomalies'];
    expect(BUILTIN_PIPELINES['telemetry-anomalies']).toBe(anomalies);
    expect(builtinPipeline('clickstream-purchases')).toBe(BUILTIN_PIPELINES['clickstream-purchases']);
    for (const name of ['telemetry-anomalies', 'clickstream-purchases']) {
      expect(builtinPipeline(name).after.some((op) => 'metrics' in op), name).toBe(true);
    }
  });

  it('run as modules too: each file’s default export is its main pipeline', () => {
    expect([clickstream.name, telemetry.name]).toEqual(['clickstream', 'telemetry']);
  });

  it('looks a name up, or says which names exist', () => {
    expect(builtinPipeline('telemetry-braking')).toBe(BUILTIN_PIPELINES['telemetry-braking']);
    expect(() => builtinPipeline('toString')).toThrow(
      new UserError(
        ErrorCode.BAD_DEFINITION,
        "no built-in pipeline 'toString'; built-in: clickstream, clickstream-sessions, clickstream-purchases, telemetry, telemetry-braking, telemetry-anomalies",
      ),
    );
  });
});
