/**
 * A small Dockerfile reader: enough of the format to check the image's invariants without a
 * Docker engine (line continuations, comments, parser directives, global ARGs in FROM, exec and
 * shell forms, `ENV` pairs, stages and the stages they build on).
 *
 * @module
 */

/** One instruction, its continuation lines joined. */
export interface Instruction {
  /** Upper case: `FROM`, `RUN`, `COPY`… */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

/** A build stage: `FROM base AS name` and what follows up to the next FROM. */
export interface Stage {
  readonly index: number;
  /** The `AS` name, or the stage's index as text. */
  readonly name: string;
  /** The image or stage it starts from, global ARGs substituted. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Global ARGs (before the first FROM) and their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

/**
 * Reads a Dockerfile's text.
 *
 * @example parseDockerfile('FROM node:26-trixie-slim AS base\nUSER 1000\n').stages[0]?.name // 'base'
 */
export function parseDockerfile(text: string): Dockerfile {
  const instructions = logicalLines(text);
  const globalArgs: Record<string, string> = {};
  const stages: { index: number; name: string; from: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = substitute(words[0] ?? '', globalArgs);
      const as = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ index: stages.length, name: as ?? String(stages.length), from: image, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') Object.assign(globalArgs, argDefaults(instruction.args));
    } else {
      (stages[stages.length - 1] as { instructions: Instruction[] }).instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** Joins continuation lines, drops comments and blank lines. */
function logicalLines(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { keyword: string; parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && current === undefined)) return; // comments also inside continuations
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (current === undefined) {
      const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(body);
      if (m === null) return;
      current = { keyword: (m[1] as string).toUpperCase(), parts: [m[2] as string], line: i + 1 };
    } else {
      current.parts.push(body.trim());
    }
    if (!continues) {
      out.push({ keyword: current.keyword, args: current.parts.join(' ').replace(/\s+/g, ' ').trim(), line: current.line });
      current = undefined;
    }
  });
  if (current !== undefined) out.push({ keyword: current.keyword, args: current.parts.join(' ').trim(), line: current.line });
  return out;
}

/** `ARG NAME=default` (or `ARG NAME`) as name → default. */
export function argDefaults(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of args.split(/\s+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    if (eq < 0) out[word] = '';
    else out[word.slice(0, eq)] = unquote(word.slice(eq + 1));
  }
  return out;
}

/** `${NAME}`, `${NAME:-default}` and `$NAME` replaced from `vars`. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    const value = vars[(braced ?? bare) as string];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

function unquote(text: string): string {
  return /^(["']).*\1$/.test(text) ? text.slice(1, -1) : text;
}

/**
 * `ENV` pairs: `ENV A=1 B="two words"`, or the legacy `ENV A 1`.
 *
 * @example envPairs('NODE_ENV=production PORT=8081') // { NODE_ENV: 'production', PORT: '8081' }
 */
export function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (m !== null) out[m[1] as string] = unquote((m[2] as string).trim());
    return out;
  }
  const pair = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of args.matchAll(pair)) out[m[1] as string] = unquote(m[2] as string);
  return out;
}

/**
 * The exec form of `ENTRYPOINT`, `CMD`, `RUN` or `HEALTHCHECK … CMD`: a JSON array of strings;
 * undefined for the shell form.
 *
 * @example execForm('["/usr/bin/tini", "--", "/app/bin/sluice"]') // ['/usr/bin/tini', '--', '/app/bin/sluice']
 */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The chain of stages a stage builds on, from the first image down to itself.
 *
 * @example chainOf(file, 'runtime').map((s) => s.name) // ['base', 'runtime']
 */
export function chainOf(file: Dockerfile, target: string): Stage[] {
  const chain: Stage[] = [];
  let stage = file.stages.find((s) => s.name === target);
  while (stage !== undefined) {
    chain.unshift(stage);
    const from = stage.from;
    const index = stage.index;
    stage = file.stages.find((s) => s.name === from && s.index < index);
  }
  return chain;
}

/** Every instruction of a chain, in build order. */
export function chainInstructions(chain: readonly Stage[]): Instruction[] {
  return chain.flatMap((stage) => stage.instructions);
}

/** The value of `--name=value` options at the start of `args` (COPY --from, HEALTHCHECK --interval). */
export function optionsOf(args: string): { options: Record<string, string>; rest: string } {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s*/.exec(rest);
    if (m === null) break;
    options[m[1] as string] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { options, rest };
}
