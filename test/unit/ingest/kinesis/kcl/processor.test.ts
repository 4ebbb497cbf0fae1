import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupFileCheckpointStore } from '../../../../../src/checkpoint/stores/group-file.js';
import { parseKinesisUrl } from '../../../../../src/kinesis/endpoint.js';
import { kclShardSource, type KclCheckpointer } from '../../../../../src/ingest/kinesis/kcl/processor.js';
import { startKclProtocol } from '../../../../../src/ingest/kinesis/kcl/service.js';
import type { KclRecord } from '../../../../../src/ingest/kinesis/kcl/reader.js';
import { clickstreamPageViews } from '../../../../../src/pipelines/index.js';
import { runPipeline, type RunSummary } from '../../../../../src/runtime/run.js';
import { CollectSink } from '../../../../support/run-memory.js';

const endpoint = parseKinesisUrl('kinesis://clicks?coordinator=kcl&app=views', 'source', {});
const PIPELINE = clickstreamPageViews.name;

function records(from: number, count: number): KclRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const click = { ts: new Date(Date.UTC(2026, 10, 1, 12, 0, 0) + n * 10_000).toISOString(), userId: `u${n % 3}`, page: '/home', dwellMs: 1 };
    return { data: Buffer.from(JSON.stringify(click)).toString('base64'), partitionKey: '/home', sequenceNumber: String(1000 + n), subSequenceNumber: 0, approximateArrivalTimestamp: 0 };
  });
}

/** The newest position the group store holds for the shard, read straight from its file. */
async function storedPosition(dir: string): Promise<{ sequence?: string; ended?: boolean | undefined } | undefined> {
  const home = join(dir, PIPELINE, 'partitions');
  const files = await readdir(home).catch(() => [] as string[]);
  if (files.length === 0) return undefined;
  const entry = JSON.parse(await readFile(join(home, files[0] as string), 'utf8')) as { data: { partitions: Record<string, { position?: { sequence?: string }; ended?: boolean }> } };
  const partition = Object.values(entry.data.partitions)[0];
  return partition === undefined ? undefined : { ...partition.position, ended: partition.ended };
}

/** A checkpointer that records what KCL was asked, with what Sluice's store held at that moment. */
function fakeCheckpointer(dir: string, calls: { sequence: string | undefined; stored: string | undefined }[]): KclCheckpointer {
  return {
    async checkpoint(sequence) {
      calls.push({ sequence, stored: (await storedPosition(dir))?.sequence });
    },
  };
}

/** Runs the page-views pipeline over one KCL shard source, driven by the aws-kcl protocol over in-memory pipes. */
function start(dir: string) {
  const stop = new AbortController();
  const source = kclShardSource(endpoint, { stop: () => stop.abort(), log: () => undefined });
  const results = new CollectSink();
  const run: Promise<RunSummary> = runPipeline({
    definition: clickstreamPageViews,
    source,
    sinks: [results],
    deadLetter: new CollectSink(),
    checkpoint: { store: groupFileCheckpointStore({ dir, pipeline: PIPELINE, handoffMs: 0 }), everyMs: 60_000 },
    signal: stop.signal,
  });
  return { source, results, run, stop };
}

describe('KCL record processor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-kcl-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checkpoints KCL only at durable Sluice checkpoints, and resumes without repeating', async () => {
    const calls: { sequence: string | undefined; stored: string | undefined }[] = [];
    const first = start(dir);
    await first.source.initialize({ shardId: 'shardId-000000000000', sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
    await first.source.processRecords({ records: records(0, 10), checkpointer: fakeCheckpointer(dir, calls) });
    // no Sluice checkpoint yet: KCL is not told anything
    expect(calls).toEqual([]);
    await first.source.shutdownRequested({ checkpointer: fakeCheckpointer(dir, calls) });
    expect(calls).toEqual([{ sequence: '1009', stored: '1009' }]);
    first.source.closed();
    const summary = await first.run;
    expect(summary.counters['events_in']).toBe(10);

    // KCL's own checkpoint lags: the daemon hands over records Sluice's checkpoint covers
    const second = start(dir);
    await second.source.initialize({ shardId: 'shardId-000000000000', sequenceNumber: '1005', subSequenceNumber: 0 });
    await second.source.processRecords({ records: records(5, 10), checkpointer: fakeCheckpointer(dir, calls) });
    await second.source.shutdownRequested({ checkpointer: fakeCheckpointer(dir, calls) });
    expect(calls.at(-1)).toEqual({ sequence: '1014', stored: '1014' });
    second.source.closed();
    expect((await second.run).counters['events_in']).toBe(5);
    const ids = [...first.results.records, ...second.results.records].map((r) => (r as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('at the end of a shard fires its windows, checkpoints, then checkpoints SHARD_END', async () => {
    const calls: { sequence: string | undefined; stored: string | undefined }[] = [];
    const run = start(dir);
    await run.source.initialize({ shardId: 'shardId-000000000000', sequenceNumber: 'TRIM_HORIZON' });
    await run.source.processRecords({ records: records(0, 12), checkpointer: fakeCheckpointer(dir, calls) });
    const before = run.results.records.length;
    await run.source.shardEnded({ checkpointer: fakeCheckpointer(dir, calls) });
    expect(run.results.records.length).toBeGreaterThan(before);
    expect(calls.at(-1)).toEqual({ sequence: undefined, stored: '1011' });
    expect((await storedPosition(dir))?.ended).toBe(true);
    run.source.closed();
    await run.run;
  });

  it('writes no KCL checkpoint when the lease is lost', async () => {
    const calls: { sequence: string | undefined; stored: string | undefined }[] = [];
    const run = start(dir);
    await run.source.initialize({ shardId: 'shardId-000000000000', sequenceNumber: 'TRIM_HORIZON' });
    await run.source.processRecords({ records: records(0, 5), checkpointer: fakeCheckpointer(dir, calls) });
    await run.source.leaseLost();
    expect(calls).toEqual([]);
    expect((await storedPosition(dir))?.sequence).toBe('1004');
    run.source.closed();
    await run.run;
  });

  it('speaks the protocol through aws-kcl: a status only after the work, the checkpoint before it', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    output.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    const next = async (): Promise<Record<string, unknown>> => {
      while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      return lines.shift() as Record<string, unknown>;
    };
    const send = (action: Record<string, unknown>): void => {
      input.write(JSON.stringify(action) + '\n');
    };
    const run = start(dir);
    const failures: unknown[] = [];
    startKclProtocol(run.source, { fail: (err) => failures.push(err), input, output });

    send({ action: 'initialize', shardId: 'shardId-000000000000', sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
    expect(await next()).toEqual({ action: 'status', responseFor: 'initialize' });
    send({ action: 'processRecords', records: records(0, 4), millisBehindLatest: 0 });
    expect(await next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    send({ action: 'shutdownRequested' });
    expect(await next()).toEqual({ action: 'checkpoint', sequenceNumber: '1003' });
    send({ action: 'checkpoint', sequenceNumber: '1003', error: null });
    expect(await next()).toEqual({ action: 'status', responseFor: 'shutdownRequested' });
    input.end();
    await run.run;
    expect(run.stop.signal.aborted).toBe(true);
    expect(failures).toEqual([]);
  });
});
