import { Environment } from '@marcbachmann/cel-js';
import { kubeLibrary } from './cel-library.ts';
import './cel-meter.ts'; // meters every cel-js evaluation in the process

/**
 * The CEL environment of CRD validation rules (kube's `x-kubernetes-validations`,
 * apiextensions-apiserver `schema/cel`): `self` (and `oldSelf`) bound to the
 * value at the rule's schema node, cel-js's standard functions and macros, and
 * the cheap part of kube's CEL library (cel-library.ts).
 *
 * Cost, and the time of regular expressions, are bounded by cel-meter.ts.
 */
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
