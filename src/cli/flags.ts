import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../util/errors.ts';
import { parseDuration } from '../util/duration.ts';

/**
 * FlagSpec declares one command-line flag. Flags follow kube-proxy's and
 * CoreDNS's spelling (`--min-sync-period=1s`, `--cleanup`); both `--flag=v`
 * and `--flag v` are accepted.
 */
export type FlagSpec =
  | { type: 'string'; default?: string; help: string }
  | { type: 'boolean'; default?: boolean; help: string }
  | { type: 'int'; default?: number; help: string }
  | { type: 'duration'; default?: string; help: string }
  | { type: 'list'; default?: string[]; help: string };

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S extends { type: 'string' }
  ? string
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'int' }
      ? number
      : S extends { type: 'duration' }
        ? number
        : string[];

/**
 * FlagValues maps specs to parsed values. Durations are milliseconds; a flag
 * with no default and not given is undefined.
 */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]: F[K] extends { default: unknown } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export interface ParsedArgs<F extends FlagSpecs> {
  flags: FlagValues<F>;
  positionals: string[];
  /** Arguments after a literal `--`, e.g. the command of `ferry exec pod -- dig`. */
  rest: string[];
  /** Flags given on the command line (not defaulted): a config file yields to these, as in kube-proxy. */
  explicit: ReadonlySet<string>;
}

function convert(name: string, spec: FlagSpec, raw: string | boolean | string[]): unknown {
  switch (spec.type) {
    case 'boolean':
      return raw;
    case 'string':
      return raw;
    case 'list':
      return (raw as string[]).flatMap((v) => v.split(',')).filter((v) => v !== '');
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new InvalidArgumentError(`invalid value ${JSON.stringify(raw)} for --${name}: not an integer`);
      return n;
    }
    case 'duration':
      try {
        return parseDuration(raw as string);
      } catch {
        throw new InvalidArgumentError(`invalid value ${JSON.stringify(raw)} for --${name}: not a duration (e.g. 1s, 250ms, 1m30s)`);
      }
  }
}

/**
 * longFormOf rewrites `-name` and `-name=v` to `--name...` when `name` is a
 * flag longer than one letter: Go's flag package (CoreDNS's `-conf`, klog's
 * `-v`) takes one dash as well as two, and Node's parser would read `-conf`
 * as four short flags.
 */
function longFormOf(specs: FlagSpecs, arg: string): string {
  const m = /^-([a-z][\w-]+)(=.*)?$/.exec(arg);
  return m && Object.hasOwn(specs, m[1]!) ? `-${arg}` : arg;
}

/** booleanAssignment rewrites `--flag=true|false` of a boolean flag as `--flag` / `--no-flag`. */
function booleanAssignment(specs: FlagSpecs, arg: string): string {
  const m = /^--([^=]+)=(true|false)$/.exec(arg);
  if (!m || specs[m[1]!]?.type !== 'boolean') return arg;
  return m[2] === 'true' ? `--${m[1]}` : `--no-${m[1]}`;
}

/** parseFlags parses argv against specs; unknown flags are an InvalidArgumentError. */
export function parseFlags<F extends FlagSpecs>(specs: F, argv: string[]): ParsedArgs<F> {
  const dashdash = argv.indexOf('--');
  // pflag (kube-proxy's flag library) accepts `--flag=false`; parseArgs only `--no-flag`.
  const head = (dashdash === -1 ? argv : argv.slice(0, dashdash)).map((a) => booleanAssignment(specs, longFormOf(specs, a)));
  const rest = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.type === 'boolean' ? { type: 'boolean' } : spec.type === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true, allowNegative: true } as Parameters<typeof parseArgs>[0]);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^.*?: /, ''));
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const flags: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    const raw = values[name];
    if (raw !== undefined) {
      flags[name] = convert(name, spec, raw);
      explicit.add(name);
    }
    else if (spec.default !== undefined) flags[name] = spec.type === 'duration' ? parseDuration(spec.default) : spec.default;
  }
  return { flags: flags as FlagValues<F>, positionals: parsed.positionals, rest, explicit };
}

/** formatFlagHelp renders flags as `--name type  help (default x)` lines. */
export function formatFlagHelp(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${name}${spec.type === 'boolean' ? '' : ` ${spec.type}`}`;
    const def = spec.default === undefined || spec.default === false ? '' : ` (default ${Array.isArray(spec.default) ? spec.default.join(',') : spec.default})`;
    return [left, `${spec.help}${def}`] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
