import { Environment } from '@marcbachmann/cel-js';
import v8 from 'node:v8';
import { kubeLibrary } from './cel-library.ts';
import './cel-meter.ts'; // meters every cel-js evaluation in the process

/**
 * The CEL environment of CRD validation rules (kube's `x-kubernetes-validations`,
 * apiextensions-apiserver `schema/cel`): `self` (and `oldSelf`) bound to the
 * value at the rule's schema node, cel-js's standard functions and macros, and
 * the cheap part of kube's CEL library (cel-library.ts).
 *
 * Cost is bounded by cel-meter.ts. Regular expressions are JavaScript's,
 * which backtrack where kube's RE2 does not: V8 is told to switch a regexp
 * that backtracks excessively to its linear-time engine (process-wide; same
 * results, only bounded time), and a rule's literal pattern with what RE2
 * refuses (backreferences, lookarounds) is refused. That engine cannot run
 * every pattern (large counted repetitions): those still backtrack.
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
