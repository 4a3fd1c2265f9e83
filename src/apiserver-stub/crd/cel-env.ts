import { Environment } from '@marcbachmann/cel-js';
import v8 from 'node:v8';
import { kubeLibrary } from './cel-library.ts';

/**
 * The CEL environment of CRD validation rules (kube's `x-kubernetes-validations`,
 * apiextensions-apiserver `schema/cel`): `self` (and `oldSelf`) bound to the
 * value at the rule's schema node, cel-js's standard functions and macros, and
 * the cheap part of kube's CEL library (cel-library.ts).
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
