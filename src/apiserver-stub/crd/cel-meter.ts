import { Environment } from '@marcbachmann/cel-js';
import v8 from 'node:v8';
import { celNodes, regexFunctions, type CelNode } from './cel-ast.ts';

/**
 * Bounding what CRD validation rules cost (kube charges CEL evaluation by a
 * cost model, per call and per request). cel-js has no cost tracking, so
 * the running evaluation's Meter is charged where cost can grow beyond the
 * size of the rule: every comprehension step (all/exists/exists_one/map/
 * filter, cel.bind), the size of every `+` result (list and string
 * concatenation, which cel.bind could otherwise double at every level), of
 * the operands of `in`, `==` and `!=` and of scanning string and list
 * methods (scans and deep comparisons in a loop), and what kube library
 * functions build. A meter over its budget or past its deadline throws,
 * and keeps throwing at every later charge, so nested loops unwind at once.
 *
 * Regular expressions are JavaScript's, which backtrack where kube's RE2
 * does not: V8 is told to switch a regexp that backtracks excessively to its
 * linear-time engine (process-wide; same results, only bounded time), and a
 * pattern with what that engine and RE2 cannot run (backreferences,
 * lookarounds) is refused: a literal one when the CRD is written, one built
 * from the object when the rule runs. Some patterns the engine cannot run
 * although RE2 can (large counted repetitions) still backtrack.
 */
type Any = any; // cel-js internals reached through the probe are untyped

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

/** Meter counts the cost units of one request's rule evaluations. */
export class Meter {
  units = 0;
  exhausted = false;
  private readonly limit: number;
  private readonly deadline: number;
  private nextClockCheck = 1024;

  constructor(limit: number, millis: number) {
    this.limit = limit;
    this.deadline = Date.now() + millis;
  }

  charge(units = 1): void {
    this.units += units;
    // The clock is read every 1024 units: a unit is well under a microsecond, a clock read is not free.
    if (this.units >= this.nextClockCheck) {
      this.nextClockCheck = this.units + 1024;
      if (Date.now() > this.deadline) this.exhausted = true;
    }
    if (this.exhausted || this.units > this.limit) {
      this.exhausted = true;
      throw new Error('operation cancelled: actual cost limit exceeded');
    }
  }
}

let running: Meter | undefined;

/** metered runs f with meter charged for its evaluation (evaluation is synchronous: one meter at a time). */
export function metered<T>(meter: Meter, f: () => T): T {
  const outer = running;
  running = meter;
  try {
    meter.charge();
    return f();
  } finally {
    running = outer;
  }
}

/** charge charges the running evaluation, if any (kube library functions charge what they build). */
export function charge(units: number): void {
  running?.charge(units);
}

/** Strings are charged a unit per 64 characters, lists a unit per element, maps a unit per entry. */
function sizeUnits(v: unknown): number {
  if (typeof v === 'string') return v.length >> 6;
  if (Array.isArray(v)) return v.length;
  if (typeof v !== 'object' || v === null) return 0;
  let entries = 0;
  for (const _ in v) entries++;
  return entries;
}

/** The AST nodes whose values are charged their size when evaluated. */
const sized = new WeakSet<object>();
/** The AST nodes that give the pattern of matches/find/findAll, checked when evaluated. */
const patterns = new WeakSet<object>();

/** Receiver methods whose cost grows with the size of their receiver and arguments (kube's cost model charges them so). */
const linearFunctions = new Set(['contains', 'matches', 'indexOf', 'lastIndexOf', 'lowerAscii', 'upperAscii', 'trim', 'split', 'replace', 'find', 'findAll', 'join', 'reverse', 'startsWith', 'endsWith', 'substring', 'isSorted', 'sum', 'min', 'max']);

/**
 * chargeSizes marks the nodes of a compiled expression whose cost grows with
 * a value's size: the results of `+` (what a concatenation builds), the
 * operands of `in`, `==` and `!=` (a scan or a deep comparison), and the
 * receivers and arguments of string and list methods that scan them; and
 * the patterns of matches/find/findAll, checked for what RE2 refuses.
 */
export function chargeSizes(ast: unknown): void {
  for (const n of celNodes(ast)) markSized(n);
}

function markSized(n: CelNode): void {
  const operands = Array.isArray(n.args) ? (n.args as unknown[]) : [];
  const pattern = (operands[2] as unknown[] | undefined)?.[0];
  // Literal patterns were checked when the CRD was written; the others are checked as they are made.
  if (n.op === 'rcall' && regexFunctions.has(operands[0] as string) && typeof pattern === 'object' && pattern !== null && (pattern as { op?: string }).op !== 'value') patterns.add(pattern);
  if (n.op === 'rcall' && linearFunctions.has(operands[0] as string)) {
    for (const o of [operands[1], ...((operands[2] as unknown[] | undefined) ?? [])]) if (typeof o === 'object' && o !== null) sized.add(o);
  } else if (n.op === '+') sized.add(n);
  else if (n.op === 'in' && typeof operands[1] === 'object' && operands[1] !== null) sized.add(operands[1]);
  else if (n.op === '==' || n.op === '!=') for (const o of operands) if (typeof o === 'object' && o !== null) sized.add(o);
}

type Method = (...args: unknown[]) => unknown;

/** wrap replaces proto[name] with a metered version once (a second wrap would charge twice). */
function wrap(proto: Record<string, unknown> | undefined, name: string, metered: (original: Method) => Method): void {
  const original = proto?.[name];
  if (!proto || typeof original !== 'function') throw new Error(`cel-js internals changed (${name} not found): CEL rules cannot be metered`);
  if ((original as { metered?: boolean }).metered) return;
  proto[name] = Object.assign(metered(original as Method), { metered: true });
}

/**
 * meterEvaluation wraps cel-js's comprehension context's iteration-variable
 * setter and its evaluator's node evaluation, both reached through a probe
 * macro (the classes are not exported). It fails loudly if cel-js changed
 * shape, since unmetered rules could hold the apiserver.
 */
function meterEvaluation(): void {
  let context: Record<string, unknown> | undefined;
  let evaluator: Record<string, unknown> | undefined;
  const probe = new Environment().registerFunction('probe(ast): bool', () => ({
    typeCheck(checker: Any, _macro: unknown, ctx: Any) {
      context = Object.getPrototypeOf(ctx.forkWithVariable('x', checker.getType('dyn')));
      return checker.getType('bool');
    },
    evaluate(ev: Any) {
      evaluator = Object.getPrototypeOf(ev);
      return true;
    },
  }));
  probe.evaluate('probe(1)');
  wrap(context, 'setIterValue', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      running?.charge(1 + sizeUnits(args[0]));
      return original.apply(this, args);
    },
  );
  wrap(evaluator, 'run', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      if (running !== undefined && sized.has(args[0] as object)) running.charge(sizeUnits(result));
      if (typeof result === 'string' && patterns.has(args[0] as object)) {
        const problem = regexProblem(result);
        if (problem !== undefined) throw new Error(`invalid regular expression: ${problem}`);
      }
      return result;
    },
  );
}

meterEvaluation();
