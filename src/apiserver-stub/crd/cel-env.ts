import { Environment } from '@marcbachmann/cel-js';
import { isIP } from 'node:net';
import v8 from 'node:v8';

/**
 * The CEL environment of CRD validation rules (kube's `x-kubernetes-validations`,
 * apiextensions-apiserver `schema/cel`): `self` (and `oldSelf`) bound to the
 * value at the rule's schema node, cel-js's standard functions and macros, and
 * the cheap part of kube's CEL library (lists: isSorted, sum, min, max,
 * indexOf, lastIndexOf; strings: charAt, replace, reverse; regex: find,
 * findAll; isIP, isCIDR). Not provided: url, quantity, ip(), cidr(), semver,
 * format.
 *
 * Bounding cost: cel-js has no cost tracking, so every comprehension step
 * (all/exists/exists_one/map/filter, cel.bind) ticks the Meter of the running
 * evaluation; a meter over its step budget or past its deadline throws, and
 * keeps throwing at every later step, so nested loops unwind at once.
 * Regular expressions are JavaScript's, which backtrack where kube's RE2
 * does not: V8 is told to switch a regexp that backtracks excessively to its
 * linear-time engine (process-wide; same results, only bounded time), and a
 * rule's literal pattern with what RE2 refuses (backreferences, lookarounds)
 * is refused. That engine cannot run every pattern (large counted
 * repetitions): those still backtrack.
 */
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** regexProblem: why pattern is not a regular expression as RE2 takes it (in JavaScript's syntax), or undefined. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  // Outside character classes: \1..\9 and \k<name> are backreferences, (?= (?! (?<= (?<! lookarounds.
  const outsideClasses = pattern.replace(/\\./g, (e) => (/^\\([1-9]|k)$/.test(e) ? e : '')).replace(/\[(?:[^\]\\]|\\.)*\]/g, '');
  if (/\\[1-9]|\\k/.test(outsideClasses)) return 'invalid escape sequence: backreferences are not supported (RE2)';
  if (/\(\?(?:=|!|<=|<!)/.test(outsideClasses)) return 'invalid or unsupported Perl syntax: lookarounds are not supported (RE2)';
  return undefined;
}

type Any = any; // cel-js passes runtime values through untyped

/** Meter counts the comprehension steps of one request's rule evaluations. */
export class Meter {
  steps = 0;
  exhausted = false;
  private readonly limit: number;
  private readonly deadline: number;

  constructor(limit: number, millis: number) {
    this.limit = limit;
    this.deadline = Date.now() + millis;
  }

  tick(): void {
    this.steps++;
    // The clock is read every 1024 steps: a step is well under a microsecond, a clock read is not free.
    if (this.exhausted || this.steps > this.limit || ((this.steps & 1023) === 0 && Date.now() > this.deadline)) {
      this.exhausted = true;
      throw new Error('operation cancelled: actual cost limit exceeded');
    }
  }
}

let running: Meter | undefined;

/** metered runs f with meter counting its comprehension steps (evaluation is synchronous: one meter at a time). */
export function metered<T>(meter: Meter, f: () => T): T {
  const outer = running;
  running = meter;
  try {
    meter.tick();
    return f();
  } finally {
    running = outer;
  }
}

/**
 * meterComprehensions wraps the iteration-variable setter of cel-js's
 * comprehension context, reached through a probe macro's type check (the
 * class is not exported). It fails loudly if cel-js changed shape, since
 * unmetered rules could hold the apiserver.
 */
function meterComprehensions(): void {
  let proto: { setIterValue?: (...args: unknown[]) => unknown } | undefined;
  const probe = new Environment().registerFunction('probe(ast): bool', () => ({
    typeCheck(checker: Any, _macro: unknown, ctx: Any) {
      proto = Object.getPrototypeOf(ctx.forkWithVariable('x', checker.getType('dyn')));
      return checker.getType('bool');
    },
    evaluate: () => true,
  }));
  probe.check('probe(1)');
  const original = proto?.setIterValue;
  if (!proto || typeof original !== 'function') throw new Error('cel-js comprehension context not found: CEL rules cannot be metered');
  if ((original as { metered?: boolean }).metered) return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    running?.tick();
    return original.apply(this, args);
  };
  Object.assign(wrapped, { metered: true });
  proto.setIterValue = wrapped;
}

const compare = (a: Any, b: Any): number => (a < b ? -1 : a > b ? 1 : 0);

function sum(list: Any[]): Any {
  if (list.length === 0) return 0n;
  return list.reduce((a, b) => a + b);
}

function extreme(list: Any[], sign: number): Any {
  if (list.length === 0) throw new Error('min/max of an empty list');
  return list.reduce((a, b) => (compare(b, a) * sign > 0 ? b : a));
}

function indexIn(list: Any[], v: Any, last: boolean): bigint {
  const same = (x: Any): boolean => x === v || JSON.stringify(x, big) === JSON.stringify(v, big);
  return BigInt(last ? list.findLastIndex(same) : list.findIndex(same));
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

function kubeLibrary(env: Environment): Environment {
  return env
    .registerFunction('list.isSorted(): bool', (l: Any[]) => l.every((v, i) => i === 0 || compare(l[i - 1], v) <= 0))
    .registerFunction('list.sum(): dyn', sum)
    .registerFunction('list.min(): dyn', (l: Any[]) => extreme(l, -1))
    .registerFunction('list.max(): dyn', (l: Any[]) => extreme(l, 1))
    .registerFunction('list.indexOf(dyn): int', (l: Any[], v: Any) => indexIn(l, v, false))
    .registerFunction('list.lastIndexOf(dyn): int', (l: Any[], v: Any) => indexIn(l, v, true))
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      if (i < 0n || i > BigInt(s.length)) throw new Error(`index out of range: ${i}`);
      return s.charAt(Number(i));
    })
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => s.split(a).join(b))
    .registerFunction('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replaceN(s, a, b, Number(n)))
    .registerFunction('isIP(string): bool', isIPAddress)
    .registerFunction('isCIDR(string): bool', isCIDR)
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
    .registerFunction('string.find(string): string', (s: string, re: string) => new RegExp(re).exec(s)?.[0] ?? '')
    .registerFunction('string.findAll(string): list<string>', (s: string, re: string) => [...s.matchAll(new RegExp(re, 'g'))].map((m) => m[0]));
}

/** isIPAddress is kube's isIP: an IPv4 or IPv6 address without zone, and no IPv4-mapped IPv6 form. */
function isIPAddress(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%') && !(s.includes(':') && s.includes('.'));
}

/** isCIDR is kube's isCIDR: an address and a prefix length in its family's range. */
function isCIDR(s: string): boolean {
  const [address, prefix, extra] = s.split('/');
  if (extra !== undefined || prefix === undefined || !/^(0|[1-9]\d*)$/.test(prefix) || !isIPAddress(address!)) return false;
  return Number(prefix) <= (isIP(address!) === 4 ? 32 : 128);
}

function replaceN(s: string, a: string, b: string, n: number): string {
  if (n < 0) return s.split(a).join(b);
  const parts = s.split(a);
  if (parts.length - 1 <= n) return parts.join(b);
  return parts.slice(0, n + 1).join(b) + a + parts.slice(n + 1).join(a);
}

meterComprehensions();

const options = {
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
  // Parse-time bounds (cel-js's own limits, tighter than its defaults).
  limits: { maxAstNodes: 10000, maxDepth: 100, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 },
};

/** Rules without optionalOldSelf: `oldSelf` is the old value itself. */
export const ruleEnv = kubeLibrary(new Environment(options)).registerVariable('self', 'dyn').registerVariable('oldSelf', 'dyn');
/** Rules with `optionalOldSelf: true`: `oldSelf` is an optional (none on create). */
export const optionalRuleEnv = kubeLibrary(new Environment(options)).registerVariable('self', 'dyn').registerVariable('oldSelf', 'optional<dyn>');
