import { fieldsRead, type Operator } from './core/operator.js';
import type { Envelope, Raw } from './core/envelope.js';
import { ErrorCode, UserError } from './core/errors.js';
import { toMillis } from './core/duration.js';
import { PIPELINE, type PipelineDefaults, type PipelineDefinition, type WindowSpec } from './core/definition.js';
import { parseJson, parseJsonBuilds, parseJsonFields } from './operators/parse-json.js';
import { validate } from './operators/validate.js';
import { map } from './operators/map.js';
import { filter } from './operators/filter.js';
import { flatMap } from './operators/flat-map.js';
import { keyBy } from './operators/key-by.js';
import { dedupe, type DedupeOptions } from './operators/dedupe.js';
import { enrich, type EnrichOptions } from './operators/enrich.js';
import { withWatermarks, watermarkSpec, type WatermarkOptions } from './windows/watermarks.js';
import type { WindowAssigner } from './windows/assigners.js';
import type { AggregateMap, AggregateResults } from './windows/aggregates/aggregate.js';
import { RESERVED_RESULT_FIELDS, type WindowResult } from './windows/result.js';

/** Options of {@link Stream.window}. */
export interface WindowOptions<M extends AggregateMap> {
  /** `tumbling('1m')`, `sliding('5m', '1m')` or `session('30m')`. */
  readonly assign: WindowAssigner;
  /** Output field name → aggregate, e.g. `{ views: count(), p95_ms: p95('latencyMs') }`. */
  readonly aggregate: M;
  /** How long after a window fired late events still update it (default 0). */
  readonly allowedLateness?: string | number;
}

interface State {
  readonly name: string;
  readonly before: readonly Operator<unknown, unknown>[];
  readonly watermarks: PipelineDefinition['watermarks'];
  readonly window: WindowSpec | undefined;
  readonly after: readonly Operator<unknown, unknown>[];
}

/**
 * A typed, immutable description of what happens to each partition's events. Every method
 * returns a new stream; nothing runs until the runtime instantiates it per partition.
 *
 * @example
 * export default definePipeline('page-views', (s) => s
 *   .parseJson<Click>()
 *   .withWatermarks({ time: 'ts', maxOutOfOrderness: '5s' })
 *   .keyBy('page')
 *   .window({ assign: tumbling('1m'), aggregate: { views: count() } }));
 */
export class Stream<T> {
  /** @internal */
  constructor(private readonly state: State) {}

  /** Adds any operator. */
  pipe<U>(operator: Operator<T, U>): Stream<U> {
    const op = operator as unknown as Operator<unknown, unknown>;
    if (this.state.window === undefined) return new Stream<U>({ ...this.state, before: [...this.state.before, op] });
    return new Stream<U>({ ...this.state, after: [...this.state.after, op] });
  }

  /** Parses raw records as JSON; see {@link parseJson}. */
  parseJson<U = unknown>(): Stream<U> {
    return this.pipe(parseJson<U>() as unknown as Operator<T, U>);
  }

  /** Checks events against a JSON Schema; see {@link validate}. */
  validate<U = T>(schema: object): Stream<U> {
    return this.pipe(validate<U>(schema) as Operator<T, U>);
  }

  map<U>(fn: (value: T, env: Envelope<T>) => U): Stream<U> {
    return this.pipe(map(fn));
  }

  filter(predicate: (value: T, env: Envelope<T>) => boolean): Stream<T> {
    return this.pipe(filter(predicate));
  }

  flatMap<U>(fn: (value: T, env: Envelope<T>) => Iterable<U>): Stream<U> {
    return this.pipe(flatMap(fn));
  }

  keyBy(by: string | readonly string[] | ((value: T, env: Envelope<T>) => unknown)): Stream<T> {
    return this.pipe(keyBy(by));
  }

  dedupe(options: DedupeOptions<T>): Stream<T> {
    return this.pipe(dedupe(options));
  }

  enrich<R, U>(options: EnrichOptions<T, R, U>): Stream<U> {
    return this.pipe(enrich(options));
  }

  /** Assigns event time and watermarks; required before {@link Stream.window}. */
  withWatermarks(options: WatermarkOptions<T>): Stream<T> {
    if (this.state.window !== undefined) {
      throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${this.state.name}': withWatermarks must come before window`);
    }
    const next = this.pipe(withWatermarks(options));
    return new Stream<T>({ ...next.state, watermarks: watermarkSpec(options) });
  }

  /** Groups events into event-time windows per key and aggregates them. */
  window<M extends AggregateMap>(options: WindowOptions<M>): Stream<WindowResult<AggregateResults<M>>> {
    const name = this.state.name;
    if (this.state.window !== undefined) throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${name}' has more than one window; only one is supported`);
    if (this.state.watermarks === undefined) {
      throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${name}': window needs event time; call withWatermarks({ time: … }) before window`);
    }
    const outputs = Object.keys(options.aggregate);
    if (outputs.length === 0) throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${name}': window needs at least one aggregate`);
    for (const field of outputs) {
      if ((RESERVED_RESULT_FIELDS as readonly string[]).includes(field) || field === '__proto__') {
        throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${name}': aggregate output '${field}' clashes with a result field; rename it`);
      }
    }
    const allowedLateness = toMillis(options.allowedLateness ?? 0, 'allowed lateness');
    return new Stream({ ...this.state, window: { assigner: options.assign, aggregates: options.aggregate, allowedLateness } });
  }

  /** @internal */
  definition(defaults: PipelineDefaults): PipelineDefinition {
    return { [PIPELINE]: true, ...this.state, before: projectParse(this.state.before, this.state.window), defaults };
  }
}

/**
 * Projection pushdown: when every operator after the last `parseJson` reads only some fields of
 * the value (declared with `readsOnly`, as field-path `keyBy` and `withWatermarks` do), and the
 * window's aggregates do too, that `parseJson` builds only those fields. Nothing else sees the
 * values — the window's results are built from keys and aggregates, dead letters and late
 * events from the original bytes — so results stay the same, and most of the cost of parsing
 * goes. Without a window, the values themselves are the output, and are parsed whole.
 */
export function projectParse(before: readonly Operator<unknown, unknown>[], window: WindowSpec | undefined): readonly Operator<unknown, unknown>[] {
  if (window === undefined) return before;
  let last = -1;
  before.forEach((op, i) => {
    if (parseJsonBuilds(op) !== undefined) last = i;
  });
  if (last < 0) return before;
  const paths: string[] = [];
  for (const op of before.slice(last + 1)) {
    const read = fieldsRead(op);
    if (read === undefined) return before;
    paths.push(...read);
  }
  for (const aggregate of Object.values(window.aggregates)) {
    if (aggregate.fields === undefined) return before;
    paths.push(...aggregate.fields);
  }
  const projected = parseJsonFields(paths);
  if (projected === undefined) return before;
  return before.map((op, i) => (i === last ? (projected as Operator<unknown, unknown>) : op));
}

/**
 * Defines a pipeline: `build` receives the stream of raw records (strings or bytes) of each
 * partition and returns what to do with them. The module exporting it runs with `sluice run`.
 *
 * @example
 * export default definePipeline('clicks', (s) => s.parseJson<Click>().filter((c) => c.bot !== true),
 *   { source: 'file:clicks/*.jsonl.gz', sinks: ['stdout:'] });
 */
export function definePipeline<O>(name: string, build: (stream: Stream<Raw>) => Stream<O>, defaults: PipelineDefaults = {}): PipelineDefinition {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline name '${name}' must be 1-128 letters, digits, '.', '_' or '-'`);
  }
  const stream = build(new Stream<Raw>({ name, before: [], watermarks: undefined, window: undefined, after: [] }));
  if (!(stream instanceof Stream)) throw new UserError(ErrorCode.BAD_DEFINITION, `pipeline '${name}': the build function must return the stream`);
  return stream.definition(defaults);
}
