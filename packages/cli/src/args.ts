import { BACKEND_NAMES } from '@vsae/compute/backends';
import { UsageError, type FlagSpec } from '@vsae/data';

/**
 * A small flag parser for the `vsae` subcommands. Flags are kebab-case; snake_case spellings
 * (`--dict_mult`) are accepted for every flag, as the original Python project used them.
 * `--flag value` and `--flag=value` both work; booleans take `--flag`, `--no-flag` or
 * `--flag=true|false|1|0`. Unknown flags, missing values and bad numbers are UsageErrors.
 */
export type OptionType = 'string' | 'number' | 'int' | 'boolean' | 'list';

/** A flag: the definition its owning library exports (@vsae/data's FlagSpec), or one of a command's own. */
export type OptionSpec = FlagSpec;

/** The options the user gave, by the `key` their definitions name (the libraries fill in defaults). */
export function givenOptions(defs: Record<string, FlagSpec>, a: ParsedArgs, convert: (name: string, value: OptionValue) => unknown = (_n, v) => v): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(defs)
      .filter(([name, d]) => d.key !== undefined && a.given.has(name))
      .map(([name, d]) => [d.key!, convert(name, a.values[name])]),
  );
}

/** A flag that stands for another flag with a fixed value, e.g. `--vsae_iso` = `--arch vsae-iso`. */
export interface ImpliedFlag {
  sets: string;
  to: string | number | boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  implied?: Record<string, ImpliedFlag>;
  /** Positional arguments: names for help, min and max count. */
  positionals?: { names: string; min: number; max: number };
  examples?: string[];
  run(args: ParsedArgs): Promise<number | void>;
}

export type OptionValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  /** Option values by kebab-case name; defaults applied. */
  values: Record<string, OptionValue>;
  /** Names the user set explicitly (kebab-case). */
  given: Set<string>;
  positionals: string[];
}

const kebab = (s: string): string => s.replace(/_/g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** `--backend NAME`, as every command that runs the tensor engine takes it (names from @vsae/compute, no engine loaded). */
export const BACKEND_OPTION: OptionSpec = { type: 'string', help: 'tensor backend (or VSAE_BACKEND)', choices: BACKEND_NAMES, value: 'NAME' };

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', help: 'show this help', short: 'h' },
};

/** One raw value of a flag as its type asks (numbers checked against min/max, strings against choices). */
export function coerce(name: string, spec: OptionSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      throw new UsageError(`--${name} takes true or false, not "${raw}"`);
    }
    case 'number':
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number, not "${raw}"`);
      if (spec.type === 'int' && !Number.isInteger(n)) throw new UsageError(`--${name} needs a whole number, not "${raw}"`);
      if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${name} must be at least ${spec.min} (got ${raw})`);
      if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${name} must be at most ${spec.max} (got ${raw})`);
      return n;
    }
    default: {
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got "${raw}")`);
      }
      return raw;
    }
  }
}

/** Edit distance with adjacent transpositions (`trian` → `train` is 1). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word` when it is close enough to be a typo of it (about a third of its letters). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

export function parseArgs(spec: Pick<CommandSpec, 'name' | 'options' | 'implied' | 'positionals'>, argv: string[]): ParsedArgs {
  const options: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...spec.options };
  const byName = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    byName.set(kebab(name), name);
    for (const a of o.aliases ?? []) byName.set(kebab(a), name);
    if (o.short) byShort.set(o.short, name);
  }
  const implied = new Map<string, ImpliedFlag>();
  for (const [flag, imp] of Object.entries(spec.implied ?? {})) implied.set(kebab(flag), imp);

  const values: Record<string, OptionValue> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  const set = (name: string, v: string | number | boolean): void => {
    const o = options[name]!;
    if (o.type === 'list') {
      const prev = given.has(name) ? ((values[name] as string[] | undefined) ?? []) : [];
      values[name] = [...prev, ...String(v).split(',').map((s) => s.trim()).filter(Boolean)];
    } else {
      // The last of two different values used to win silently (`--vsae_iso --vanilla_sae`).
      if (given.has(name) && values[name] !== v) throw new UsageError(`--${name} is given twice with different values (${String(values[name])} and ${String(v)}); give it once`);
      values[name] = v;
    }
    given.add(name);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const rawName = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      const k = kebab(rawName);
      const imp = implied.get(k);
      if (imp && inline === undefined) {
        set(imp.sets, imp.to);
        continue;
      }
      let name = byName.get(k);
      let negated = false;
      if (name === undefined && k.startsWith('no-') && options[byName.get(k.slice(3)) ?? '']?.type === 'boolean') {
        name = byName.get(k.slice(3));
        negated = true;
      }
      if (name === undefined) {
        const near = closest(k, [...byName.keys(), ...implied.keys()].filter((n) => !options[byName.get(n) ?? '']?.hidden));
        throw new UsageError(`unknown option --${rawName} for "vsae ${spec.name}"${near ? `; did you mean --${near}?` : ''} (see vsae ${spec.name} --help)`);
      }
      const o = options[name]!;
      if (o.type === 'boolean') {
        set(name, negated ? false : inline === undefined ? true : coerce(name, o, inline));
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${name} needs a value`);
        raw = next;
        i++;
      }
      set(name, coerce(name, o, raw));
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown option ${arg} for "vsae ${spec.name}" (see vsae ${spec.name} --help)`);
      const o = options[name]!;
      if (o.type === 'boolean') {
        set(name, true);
        continue;
      }
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      set(name, coerce(name, o, next));
      i++;
      continue;
    }
    positionals.push(arg);
  }
  for (const [name, o] of Object.entries(options)) {
    if (!given.has(name) && o.default !== undefined) values[name] = o.default;
  }
  if (!values.help && spec.positionals) {
    const { min, max, names } = spec.positionals;
    if (positionals.length < min) throw new UsageError(`"vsae ${spec.name}" needs ${names} (see vsae ${spec.name} --help)`);
    if (positionals.length > max) throw new UsageError(`"vsae ${spec.name}" takes at most ${max} argument${max === 1 ? '' : 's'} (${names}), got ${positionals.length}`);
  } else if (!values.help && positionals.length > 0 && !spec.positionals) {
    throw new UsageError(`"vsae ${spec.name}" takes no positional arguments (got "${positionals[0]}")`);
  }
  return { values, given, positionals };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`vsae ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  const rows: Array<[string, string]> = [];
  for (const [name, o] of Object.entries({ ...spec.options, ...GLOBAL_OPTIONS })) {
    if (o.hidden) continue;
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : ` ${o.value ?? (o.choices ? o.choices.join('|') : o.type === 'list' ? 'A,B' : o.type === 'string' ? 'VALUE' : 'N')}`}`;
    const def = o.default !== undefined && o.default !== false ? ` (default ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)})` : '';
    rows.push([flag, `${o.help}${def}`]);
  }
  const w = Math.min(40, Math.max(...rows.map(([f]) => f.length)) + 2);
  for (const [f, h] of rows) lines.push(f.length < w ? `  ${f.padEnd(w)}${h}` : `  ${f}  ${h}`);
  const compat = Object.entries(spec.options).flatMap(([n, o]) => (o.aliases ?? []).filter((a) => a.includes('_')).map((a) => `--${a}`));
  const imp = Object.keys(spec.implied ?? {}).map((f) => `--${f}`);
  if (compat.length + imp.length > 0) {
    lines.push('', `Also accepted (the original project's spellings): ${[...imp, ...compat].join(' ')}; every flag may be written in snake_case.`);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Typed accessors over ParsedArgs, so commands read cleanly. */
export function getters(a: ParsedArgs) {
  return {
    str: (n: string): string | undefined => (a.values[n] === undefined ? undefined : String(a.values[n])),
    num: (n: string): number | undefined => (a.values[n] === undefined ? undefined : Number(a.values[n])),
    bool: (n: string): boolean => a.values[n] === true,
    list: (n: string): string[] => (Array.isArray(a.values[n]) ? (a.values[n] as string[]) : a.values[n] === undefined ? [] : [String(a.values[n])]),
    given: (n: string): boolean => a.given.has(n),
  };
}
