import { ErrorCode, UserError } from '../../core/errors.js';
import { isValidPath } from '../../core/paths.js';
import type { Aggregate, AggregateMap } from './aggregate.js';
import { avg } from './avg.js';
import { count } from './count.js';
import { distinct } from './distinct.js';
import { max } from './max.js';
import { min } from './min.js';
import { percentile } from './percentile.js';
import { sum } from './sum.js';

const ACCEPTED = 'use count, sum:F, min:F, max:F, avg:F, distinct:F or pNN:F';

const BY_FIELD: Readonly<Record<string, (field: string) => Aggregate>> = {
  sum,
  min,
  max,
  avg,
  distinct,
};

/** pNN or pNN.N: no leading zero, so that each percentile has exactly one output name. */
const PERCENTILE = /^p(0|[1-9][0-9]?)(?:\.([0-9]))?$/;

/**
 * Parses the CLI's `--agg` list, such as `count,avg:dwellMs,p95:dwellMs,distinct:userId`.
 *
 * Output names are `count`, and `<aggregate>_<field>` for the others with the field written as
 * given (`sum_order.total`, `p99.9_latency`). `fields` lists the field paths used, once each,
 * in order of first use. Spaces around items are ignored. Throws a one-line
 * `UserError(BAD_OPTION)` naming the bad item for unknown aggregates, missing or invalid fields,
 * percentiles outside (0, 100), empty items and duplicate outputs.
 *
 * @example parseAggSpec('count,p95:ms') // { map: { count: count(), p95_ms: p95('ms') }, fields: ['ms'] }
 * @see CompositeAggregate
 * @see percentile
 */
export function parseAggSpec(text: string): { map: AggregateMap; fields: string[] } {
  if (text.trim() === '') throw bad(`empty aggregate list; ${ACCEPTED}`);
  const map: Record<string, Aggregate> = {};
  const names = new Set<string>();
  const fields: string[] = [];
  for (const rawItem of text.split(',')) {
    const item = rawItem.trim();
    if (item === '') throw bad(`empty item in '${text}'; ${ACCEPTED}`);
    const colon = item.indexOf(':');
    const kind = (colon === -1 ? item : item.slice(0, colon)).trim();
    const field = colon === -1 ? undefined : item.slice(colon + 1).trim();

    let name: string;
    let aggregate: Aggregate;
    if (kind === 'count') {
      if (field !== undefined) throw bad(`'count' takes no field in '${text}'; ${ACCEPTED}`);
      name = 'count';
      aggregate = count();
    } else {
      const byField = Object.hasOwn(BY_FIELD, kind) ? BY_FIELD[kind] : undefined;
      const q = byField === undefined ? percentileOf(kind, text) : undefined;
      if (byField === undefined && q === undefined) throw bad(`unknown aggregate '${kind}' in '${text}'; ${ACCEPTED}`);
      if (field === undefined || field === '') {
        throw bad(`'${kind}' needs a field in '${text}'; ${ACCEPTED}`);
      }
      if (!isValidPath(field)) {
        throw bad(`invalid field path '${field}' in '${text}'; use a field name or a dotted path such as order.total`);
      }
      name = `${kind}_${field}`;
      aggregate = byField === undefined ? percentile(field, q!) : byField(field);
      if (!fields.includes(field)) fields.push(field);
    }
    if (names.has(name)) throw bad(`duplicate output '${name}' in '${text}'; list each aggregate of a field once`);
    names.add(name);
    map[name] = aggregate;
  }
  return { map, fields };
}

/** The quantile of a `pNN`/`pNN.N` name; undefined for names that are not percentiles at all. */
function percentileOf(kind: string, text: string): number | undefined {
  if (!/^p[0-9]/.test(kind)) return undefined;
  const match = PERCENTILE.exec(kind);
  // Integer tenths keep p99.9 at exactly 0.999 rather than 99.9 / 100.
  const tenths = match ? Number(match[1]) * 10 + Number(match[2] ?? '0') : 0;
  if (tenths <= 0) {
    throw bad(`bad percentile '${kind}' in '${text}'; use pNN or pNN.N between 0 and 100 exclusive, such as p50, p95 or p99.9`);
  }
  return tenths / 1000;
}

function bad(message: string): UserError {
  return new UserError(ErrorCode.BAD_OPTION, `--agg: ${message}`);
}
