import { describe, expect, it } from 'vitest';
import { createLog, logFormatOf } from '../../../src/runtime/ops/log.js';

function capture(): { lines: string[]; destination: { write(chunk: string): boolean } } {
  const lines: string[] = [];
  return { lines, destination: { write: (chunk: string) => (lines.push(...chunk.split('\n').filter((l) => l !== '')), true) } };
}

describe('Sluice’s own lines', () => {
  it('are the familiar text lines in text format, whatever the level', () => {
    const written: string[] = [];
    const log = createLog({ format: 'text', pipeline: 'p', text: (line) => written.push(line) });
    log.info('sluice: 1 events in', { eventsIn: 1 });
    log.warn('sluice: partition t/0 stalled', { partition: 't/0' });
    log.error('sluice: broken');
    expect(written).toEqual(['sluice: 1 events in', 'sluice: partition t/0 stalled', 'sluice: broken']);
  });

  it('are pino JSON lines with level, time, pipeline, the sentence and the fields in json format', () => {
    const { lines, destination } = capture();
    const text: string[] = [];
    const log = createLog({ format: 'json', pipeline: 'page-views', text: (line) => text.push(line), destination });
    log.info('sluice: 6000 events in, 240 results out', { eventsIn: 6000 });
    log.warn('sluice: partition clicks/3 stalled: input has waited 61 s', { partition: 'clicks/3' });
    expect(text).toEqual([]);
    const [summary, stall] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(summary).toMatchObject({ level: 'info', pipeline: 'page-views', msg: '6000 events in, 240 results out', eventsIn: 6000 });
    expect(new Date(String(summary?.['time'])).toISOString()).toBe(summary?.['time']);
    expect(stall).toMatchObject({ level: 'warn', pipeline: 'page-views', partition: 'clicks/3', msg: 'partition clicks/3 stalled: input has waited 61 s' });
    // no pid or hostname: ECS tags the log stream with the task already
    expect(Object.keys(summary ?? {}).sort()).toEqual(['eventsIn', 'level', 'msg', 'pipeline', 'time']);
  });
});

describe('the log format of a command line not parsed yet', () => {
  it('follows --log-format, then SLUICE_LOG_FORMAT, else text', () => {
    expect(logFormatOf(['run', 'p.ts', '--log-format', 'json'], {})).toBe('json');
    expect(logFormatOf(['run', 'p.ts', '--log-format=json'], {})).toBe('json');
    expect(logFormatOf(['run', 'p.ts'], { SLUICE_LOG_FORMAT: 'json' })).toBe('json');
    expect(logFormatOf(['run', 'p.ts', '--log-format', 'text'], { SLUICE_LOG_FORMAT: 'json' })).toBe('text');
    expect(logFormatOf(['run', 'p.ts'], {})).toBe('text');
  });

  it('writes lines without a pipeline when none is known yet', () => {
    const lines: string[] = [];
    const log = createLog({ format: 'json', text: () => undefined, destination: { write: (chunk: string) => (lines.push(chunk.trim()), true) } });
    log.error("sluice: unknown option '--sinkk'", { code: 'USAGE' });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'error', msg: "unknown option '--sinkk'", code: 'USAGE' });
    expect(JSON.parse(lines[0] ?? '{}')).not.toHaveProperty('pipeline');
  });
});
