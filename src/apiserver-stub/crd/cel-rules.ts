import type { StatusCause } from '../../kube/types.ts';
import { optionalRuleEnv, ruleEnv } from './cel-env.ts';
import { fieldProblem, rootSchema } from './cel-fields.ts';
import { celNodes, regexFunctions } from './cel-ast.ts';
import { chargeSizes, regexProblem } from './cel-meter.ts';
import { rewriteRule } from './cel-rewrite.ts';
import type { JsonSchemaProps } from './schema.ts';

/**
 * Compiling a CRD's `x-kubernetes-validations` rules (kube's
 * `schema/cel/compilation.go` and the CRD validation of its rules): each
 * rule is parsed and type-checked once per schema node and cached; a CRD
 * whose rule does not compile, names an unknown reason or fieldPath, or
 * exceeds the bounds below is refused with 422 naming the rule.
 */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

type Program = ReturnType<typeof ruleEnv.parse>;

export interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program: Program;
  readonly message: Program | undefined;
  readonly usesOldSelf: boolean;
  /** fieldPath as a field path (`spec.a[key]` form), '' if none. */
  readonly fieldPath: string;
}

/** Bounds on what a CRD may declare (kube bounds rules by estimated cost; these cap the same in spirit). */
export const MAX_RULE_LENGTH = 4096;
export const MAX_RULES_PER_SCHEMA = 256;
const reasons = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];

const cache = new WeakMap<JsonSchemaProps, CompiledRule[]>();

/** compiledRules gives the node's rules compiled (those that do not compile are left out: the CRD was refused for them). */
export function compiledRules(schema: JsonSchemaProps): CompiledRule[] {
  let compiled = cache.get(schema);
  if (compiled === undefined) {
    compiled = [];
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      const c = compileRule(rule, schema);
      if (!(c instanceof Error)) compiled.push(c);
    }
    cache.set(schema, compiled);
  }
  return compiled;
}

/** celError words a cel-js error as cel-go's `ERROR: <input>:line:col: summary`. */
function celError(error: unknown, source: string): string {
  const e = error as { summary?: string; message?: string; range?: { start: number } };
  const summary = e.summary ?? e.message?.split('\n')[0] ?? String(error);
  if (e.range === undefined) return `ERROR: <input>: ${summary}`;
  const before = source.slice(0, e.range.start).split('\n');
  return `ERROR: <input>:${before.length}:${before.at(-1)!.length + 1}: ${summary}`;
}

/** compile parses and type-checks a rule or message expression; given self's schema, also that the fields it selects are declared. */
function compile(env: typeof ruleEnv, given: string, want: 'bool' | 'string', self?: JsonSchemaProps): Program | Error {
  const source = rewriteRule(given, (s) => env.parse(s));
  let program: Program;
  try {
    program = env.parse(source);
  } catch (error) {
    return new Error(celError(error, source));
  }
  const checked = program.check();
  if (!checked.valid) return new Error(celError(checked.error, source));
  // `self` is dynamic, so a rule may type-check as dyn; its value is checked when it runs.
  if (checked.type !== want && checked.type !== 'dyn') return new Error(`cel expression must evaluate to a ${want}`);
  const badPattern = literalPatternProblem(program.ast, source);
  if (badPattern) return badPattern;
  const undeclared = self ? fieldProblem(program.ast, self, env === optionalRuleEnv) : undefined;
  if (undeclared) return new Error(celError({ summary: undeclared.message, range: { start: undeclared.start } }, source));
  chargeSizes(program.ast);
  return program;
}

/** literalPatternProblem finds a literal pattern of matches/find/findAll that JavaScript cannot parse or RE2 would refuse (checked at compile time, as kube's library does). */
function literalPatternProblem(ast: unknown, source: string): Error | undefined {
  for (const n of celNodes(ast)) {
    if (n.op !== 'rcall' || !Array.isArray(n.args) || !regexFunctions.has(n.args[0] as string)) continue;
    const pattern = (n.args[2] as Array<{ op?: string; args?: unknown; start?: number }> | undefined)?.[0];
    const problem = pattern?.op === 'value' && typeof pattern.args === 'string' ? regexProblem(pattern.args) : undefined;
    if (problem !== undefined) return new Error(celError({ summary: `invalid ${n.args[0]} argument: ${problem}`, range: { start: pattern!.start ?? 0 } }, source));
  }
  return undefined;
}

/** usesOldSelf: whether the rule's expression names oldSelf (then it is a transition rule). */
function usesOldSelf(ast: unknown): boolean {
  for (const n of celNodes(ast)) if (n.op === 'id' && n.args === 'oldSelf') return true;
  return false;
}

function compileRule(rule: ValidationRule, schema: JsonSchemaProps): CompiledRule | Error {
  const program = compile(rule.optionalOldSelf ? optionalRuleEnv : ruleEnv, rule.rule, 'bool');
  if (program instanceof Error) return program;
  const message = rule.messageExpression ? compile(ruleEnv, rule.messageExpression, 'string') : undefined;
  if (message instanceof Error) return message;
  const fieldPath = rule.fieldPath ? normalFieldPath(rule.fieldPath, schema) : '';
  if (fieldPath instanceof Error) return fieldPath;
  return { rule, program, message, usesOldSelf: usesOldSelf(program.ast), fieldPath };
}

/**
 * normalFieldPath checks a rule's fieldPath against the schema (kube's
 * ValidFieldPath: `.a.b`, `.a['b.c']` for properties and map keys) and
 * gives it as a field path: properties joined with dots, map keys as `[key]`.
 */
export function normalFieldPath(jsonPath: string, schema: JsonSchemaProps): string | Error {
  const tokens = jsonPath.match(/\.[^.[\]]+|\['(?:[^'\\]|\\.)*'\]|./g) ?? [];
  let node: JsonSchemaProps | undefined = schema;
  let out = '';
  for (const token of tokens) {
    let name: string;
    if (token.startsWith('.') && token.length > 1) name = token.slice(1);
    else if (token.startsWith("['")) name = token.slice(2, -2).replace(/\\(.)/g, '$1');
    else return new Error(`expected [ or . but got: ${token}`);
    if (node?.properties !== undefined) {
      if (!Object.hasOwn(node.properties, name)) return new Error('does not refer to a valid field');
      node = node.properties[name];
      out += out === '' ? name : `.${name}`;
    } else if (typeof node?.additionalProperties === 'object') {
      node = node.additionalProperties;
      out += `[${name}]`;
    } else return new Error('does not refer to a valid field');
  }
  return out;
}

/** goRule shows a rule as kube's error does (Go's %#v of the internal ValidationRule). */
function goRule(r: ValidationRule): string {
  const reason = r.reason === undefined ? '(*apiextensions.FieldValueErrorReason)(nil)' : `(*apiextensions.FieldValueErrorReason)(${JSON.stringify(r.reason)})`;
  const optional = r.optionalOldSelf === undefined ? '(*bool)(nil)' : `(*bool)(${r.optionalOldSelf})`;
  return `apiextensions.ValidationRule{Rule:${JSON.stringify(r.rule)}, Message:${JSON.stringify(r.message ?? '')}, MessageExpression:${JSON.stringify(r.messageExpression ?? '')}, Reason:${reason}, FieldPath:${JSON.stringify(r.fieldPath ?? '')}, OptionalOldSelf:${optional}}`;
}

const invalid = (field: string, value: string, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${detail}` });

function oneRuleProblems(r: ValidationRule, schema: JsonSchemaProps, self: JsonSchemaProps, at: string, out: StatusCause[], uncorrelatable: string | undefined): void {
  if (typeof r?.rule !== 'string' || r.rule.trim() === '') return void out.push({ reason: 'FieldValueRequired', field: `${at}.rule`, message: 'Required value' });
  if (r.rule.length > MAX_RULE_LENGTH) return void out.push({ reason: 'FieldValueTooLong', field: `${at}.rule`, message: `Too long: may not be more than ${MAX_RULE_LENGTH} bytes` });
  if (r.messageExpression !== undefined && r.messageExpression.length > MAX_RULE_LENGTH) return void out.push({ reason: 'FieldValueTooLong', field: `${at}.messageExpression`, message: `Too long: may not be more than ${MAX_RULE_LENGTH} bytes` });
  const program = compile(r.optionalOldSelf ? optionalRuleEnv : ruleEnv, r.rule, 'bool', self);
  if (program instanceof Error) out.push(invalid(`${at}.rule`, goRule(r), `compilation failed: ${program.message}`));
  else if (r.optionalOldSelf === true && !usesOldSelf(program.ast)) out.push(invalid(`${at}.optionalOldSelf`, 'true', 'may not be set if rule does not use oldSelf'));
  else if (uncorrelatable !== undefined && usesOldSelf(program.ast)) out.push(invalid(`${at}.rule`, JSON.stringify(r.rule), `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`));
  if (r.message !== undefined && /[\r\n]/.test(r.message)) out.push(invalid(`${at}.message`, JSON.stringify(r.message), 'message must not contain line breaks'));
  if (r.messageExpression !== undefined) {
    const message = r.messageExpression.trim() === '' ? new Error('must be non-empty if specified') : compile(ruleEnv, r.messageExpression, 'string', self);
    if (message instanceof Error) out.push(invalid(`${at}.messageExpression`, JSON.stringify(r.messageExpression), `messageExpression compilation failed: ${message.message}`));
  }
  if (r.reason !== undefined && !reasons.includes(r.reason)) {
    out.push({ reason: 'FieldValueNotSupported', field: `${at}.reason`, message: `Unsupported value: ${JSON.stringify(r.reason)}: supported values: ${reasons.map((x) => `"${x}"`).join(', ')}` });
  }
  if (r.fieldPath !== undefined) {
    const path = normalFieldPath(r.fieldPath, schema);
    if (path instanceof Error) out.push(invalid(`${at}.fieldPath`, JSON.stringify(r.fieldPath), `fieldPath must be a valid path: ${path.message}`));
  }
}

/** ruleProblems's walk: the causes so far and the rules counted. */
interface RuleWalk {
  readonly out: StatusCause[];
  rules: number;
}

/**
 * ruleProblems checks every rule of a CRD version's schema; path names the
 * schema (`spec.versions[0].schema.openAPIV3Schema`). Under the items of a
 * list that is not `x-kubernetes-list-type: map` (uncorrelatable: no item
 * has an old counterpart) a transition rule could never run, so it is refused.
 */
export function ruleProblems(schema: JsonSchemaProps | undefined, path: string, out: StatusCause[] = []): StatusCause[] {
  walkRules(schema, path, { out, rules: 0 }, undefined, true);
  return out;
}

function walkRules(schema: JsonSchemaProps | undefined, path: string, w: RuleWalk, uncorrelatable: string | undefined, root: boolean): void {
  if (typeof schema !== 'object' || schema === null) return;
  const rules = schema['x-kubernetes-validations'];
  if (rules !== undefined && !Array.isArray(rules)) w.out.push(invalid(`${path}.x-kubernetes-validations`, JSON.stringify(rules), 'must be a list of rules'));
  else {
    for (const [j, r] of (rules ?? []).entries()) {
      const at = `${path}.x-kubernetes-validations[${j}]`;
      if (++w.rules > MAX_RULES_PER_SCHEMA) {
        w.out.push({ reason: 'FieldValueTooMany', field: at, message: `Too many: ${w.rules}: must have at most ${MAX_RULES_PER_SCHEMA} rules in a schema` });
        break;
      }
      oneRuleProblems(r, schema, root ? rootSchema(schema) : schema, at, w.out, uncorrelatable);
    }
  }
  for (const [k, p] of Object.entries(schema.properties ?? {})) walkRules(p, `${path}.properties[${k}]`, w, uncorrelatable, false);
  const itemsUncorrelatable = uncorrelatable ?? (schema['x-kubernetes-list-type'] === 'map' ? undefined : `${path}.items`);
  if (schema.items) walkRules(schema.items, `${path}.items`, w, itemsUncorrelatable, false);
  if (typeof schema.additionalProperties === 'object') walkRules(schema.additionalProperties, `${path}.additionalProperties`, w, uncorrelatable, false);
}
