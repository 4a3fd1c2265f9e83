import { Optional } from '@marcbachmann/cel-js';
import type { StatusCause } from '../../kube/types.ts';
import { deepEqual } from '../../kube/patch-errors.ts';
import { ruleEnv } from './cel-env.ts';
import { celFieldName } from './cel-fields.ts';
import { Meter, metered } from './cel-meter.ts';
import { compiledRules, type CompiledRule } from './cel-rules.ts';
import type { JsonSchemaProps } from './schema.ts';
import { isRecord } from '../../util/records.ts';

/**
 * Evaluating `x-kubernetes-validations` on a custom resource write (kube's
 * `schema/cel/validation.go`): every rule runs at the node that declares
 * it with `self` bound to that node's value (skipped where the value is
 * absent or null). A rule naming `oldSelf` is a transition rule: it runs
 * only on update where the old object has a correlated value (object
 * fields, map entries, items of `x-kubernetes-list-type: map` lists by their
 * keys), unless `optionalOldSelf` makes oldSelf an optional. As kube 1.30+
 * ratchets, a failing non-transition rule on a value that did not change
 * is not an error (so a status write is not refused for an old spec).
 * One request has a cost budget (cel-meter.ts) and a time budget over all its rules.
 */
export const RULE_COST_BUDGET = 1_000_000;
export const RULE_TIME_BUDGET_MS = 1000;

type Obj = Record<string, unknown>;
const rootFields = new Set(['apiVersion', 'kind', 'metadata']);

const durationOf = ruleEnv.parse('duration(self)');

/** formatted gives a string of a date, date-time, duration or byte format as the CEL type kube binds it to (left a string if malformed). */
function formatted(format: string | undefined, v: string): unknown {
  switch (format) {
    case 'date':
    case 'date-time': {
      const t = new Date(v);
      return Number.isNaN(t.getTime()) ? v : t;
    }
    case 'duration':
      try {
        return durationOf({ self: v });
      } catch {
        return v;
      }
    case 'byte':
      return Buffer.from(v, 'base64');
    default:
      return v;
  }
}

/** toCel converts JSON to CEL values by the schema: integers (and int-or-string numbers) as int (bigint), numbers as double, formatted strings as timestamps, durations, bytes; declared fields by their CEL names. */
export function toCel(schema: JsonSchemaProps | undefined, v: unknown): unknown {
  if (typeof v === 'string') return schema?.format ? formatted(schema.format, v) : v;
  if (typeof v === 'number') {
    if (schema?.type === 'number') return v;
    return Number.isInteger(v) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(schema?.items, x));
  if (!isRecord(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const prop = schema?.properties?.[k];
    // Declared properties go by their CEL names (`namespace` is `__namespace__`); map keys stay as they are.
    if (prop === undefined) out[k] = toCel(typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined, x);
    else {
      const name = celFieldName(k);
      if (name !== undefined) out[name] = toCel(prop, x);
    }
  }
  return out;
}

/** The root's self: the object with apiVersion, kind and of metadata only name and generateName, as kube exposes it. */
function rootSelf(schema: JsonSchemaProps, obj: Obj): unknown {
  const self = toCel(schema, { ...obj, metadata: undefined }) as Obj;
  delete self.metadata;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  self.metadata = Object.fromEntries(['name', 'generateName'].filter((k) => typeof meta[k] === 'string').map((k) => [k, meta[k]]));
  return self;
}

const budgetMessage = 'validation failed due to running out of cost budget, no further validation rules will be run';

interface Walk {
  readonly meter: Meter;
  readonly causes: StatusCause[];
}

function shownType(schema: JsonSchemaProps): string {
  return JSON.stringify(schema.type ?? '');
}

/** ruleCause words a failed rule as kube's fieldErrorForReason. */
export function ruleCause(field: string, schema: JsonSchemaProps, rule: { reason?: string }, detail: string): StatusCause {
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
    case 'FieldValueRequired':
      return { reason: 'FieldValueRequired', field, message: `Required value: ${detail}` };
    case 'FieldValueDuplicate':
      return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${shownType(schema)}` };
    default:
      return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${shownType(schema)}: ${detail}` };
  }
}

const ruleErrorString = (r: CompiledRule['rule']): string => (r.message ? r.message.trim() : r.rule.trim());

function errorText(error: unknown): string {
  const e = error as { summary?: string; message?: string };
  const text = e.summary ?? e.message?.split('\n')[0] ?? String(error);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** evaluationFailure words a rule that failed to evaluate as kube does (an overload missing at run time: dynamic values such as int-or-string). */
function evaluationFailure(result: unknown, c: CompiledRule): string {
  if ((result as { code?: string })?.code === 'no_such_overload') {
    return `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(c.rule)}`;
  }
  return `${result instanceof Error ? errorText(result) : `rule evaluated to ${typeof result}, not a bool`} evaluating rule: ${ruleErrorString(c.rule)}`;
}

/** messageOf evaluates messageExpression as kube does: a trimmed one-line non-empty string, else the message or default. */
function messageOf(c: CompiledRule, vars: Obj): string {
  if (c.message !== undefined) {
    try {
      const text = c.message(vars);
      if (typeof text === 'string' && text.trim() !== '' && !text.includes('\n') && text.length <= 5120) return text.trim();
    } catch {
      // kube logs a failed messageExpression and falls back to the message
    }
  }
  return c.rule.message ? c.rule.message.trim() : `failed rule: ${ruleErrorString(c.rule)}`;
}

interface Site {
  readonly schema: JsonSchemaProps;
  readonly value: unknown;
  /** The correlated old value; undefined when there is none (create, new field, uncorrelatable item). */
  readonly old: unknown;
  /** The value equals its correlated old value (or its nearest correlatable parent's does): failures are ratcheted. */
  readonly unchanged: boolean;
  readonly path: string;
  readonly root: boolean;
}

/** runRules evaluates the node's rules; returns false once the budget ran out. */
function runRules(site: Site, w: Walk): boolean {
  const rules = compiledRules(site.schema);
  if (rules.length === 0) return true;
  const convert = (v: unknown): unknown => (site.root && isRecord(v) ? rootSelf(site.schema, v) : toCel(site.schema, v));
  const self = convert(site.value);
  // A null old value is no old value (kube validates only non-null values, and correlates only those).
  const oldSelf = site.old === undefined || site.old === null ? undefined : convert(site.old);
  // The root's field path is kube's nil path, shown as "<nil>".
  const at = site.path === '' ? '<nil>' : site.path;
  const fail = (detail: string): void => void w.causes.push({ reason: 'FieldValueInvalid', field: at, message: `Invalid value: ${shownType(site.schema)}: ${detail}` });
  for (const c of rules) {
    if (c.usesOldSelf && oldSelf === undefined && !c.rule.optionalOldSelf) continue;
    const vars = { self, oldSelf: c.rule.optionalOldSelf ? (oldSelf === undefined ? Optional.none() : Optional.of(oldSelf)) : oldSelf };
    let result: unknown;
    try {
      result = metered(w.meter, () => c.program(vars));
    } catch (error) {
      result = error;
    }
    if (w.meter.exhausted) return fail(budgetMessage), false;
    if (result === true) continue;
    if (result instanceof Error || typeof result !== 'boolean') {
      fail(evaluationFailure(result, c));
      continue;
    }
    if (!c.usesOldSelf && site.unchanged) continue;
    const detail = metered(w.meter, () => messageOf(c, { self, oldSelf }));
    if (w.meter.exhausted) return fail(`messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run`), false;
    const field = c.fieldPath === '' ? at : site.path === '' || c.fieldPath.startsWith('[') ? `${site.path}${c.fieldPath}` : `${site.path}.${c.fieldPath}`;
    w.causes.push(ruleCause(field, site.schema, c.rule, detail));
  }
  return true;
}

/** correlatedItem finds the old item of a `x-kubernetes-list-type: map` list with the same keys. */
function correlatedItem(schema: JsonSchemaProps, item: unknown, old: unknown): unknown {
  const keys = schema['x-kubernetes-list-map-keys'];
  if (schema['x-kubernetes-list-type'] !== 'map' || !keys || !Array.isArray(old) || !isRecord(item)) return undefined;
  return old.find((o) => isRecord(o) && keys.every((k) => deepEqual(o[k], item[k])));
}

/** child is the site of a correlatable child (object field, map entry, list-map item), unchanged when it equals its old value. */
function child(schema: JsonSchemaProps, value: unknown, old: unknown, path: string): Site {
  return { schema, value, old, unchanged: old !== undefined && deepEqual(value, old), path, root: false };
}

function visit(site: Site, w: Walk): boolean {
  const { schema, value, old } = site;
  if (value === null || value === undefined) return true;
  if (!runRules(site, w)) return false;
  // Only subtrees whose schema declares a rule are walked: elsewhere there is nothing to run, so neither
  // CEL values nor old-value comparisons are worth making.
  if (Array.isArray(value)) {
    if (!schema.items || !hasRules(schema.items)) return true;
    const correlatable = schema['x-kubernetes-list-type'] === 'map';
    for (const [i, item] of value.entries()) {
      const path = `${site.path}[${i}]`;
      const next = correlatable ? child(schema.items, item, correlatedItem(schema, item, old), path) : { ...site, schema: schema.items, value: item, old: undefined, path, root: false };
      if (!visit(next, w)) return false;
    }
    return true;
  }
  if (!isRecord(value)) return true;
  const oldObj = isRecord(old) ? old : {};
  for (const [key, v] of Object.entries(value)) {
    if (site.root && rootFields.has(key) && !schema.properties?.[key]) continue;
    const prop = schema.properties?.[key];
    const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    const path = prop ? (site.path === '' ? key : `${site.path}.${key}`) : `${site.path}[${key}]`;
    const sub = prop ?? additional;
    if (sub && hasRules(sub) && !visit(child(sub, v, oldObj[key], path), w)) return false;
  }
  return true;
}

/** hasRules: whether any node of the schema declares a rule (most CRDs have none: skip the walk). */
export function hasRules(schema: JsonSchemaProps | undefined): boolean {
  if (!schema) return false;
  let has = declaresRules.get(schema);
  if (has === undefined) {
    has = (schema['x-kubernetes-validations'] ?? []).length > 0 || Object.values(schema.properties ?? {}).some(hasRules) || hasRules(schema.items) || (typeof schema.additionalProperties === 'object' && hasRules(schema.additionalProperties));
    declaresRules.set(schema, has);
  }
  return has;
}

const declaresRules = new WeakMap<JsonSchemaProps, boolean>();

/** validateRules returns the causes of obj's failing rules (old: the stored object on update). */
export function validateRules(schema: JsonSchemaProps | undefined, obj: unknown, old?: unknown, budget = { units: RULE_COST_BUDGET, millis: RULE_TIME_BUDGET_MS }): StatusCause[] {
  if (!schema || !hasRules(schema)) return [];
  const w: Walk = { meter: new Meter(budget.units, budget.millis), causes: [] };
  // The root is unchanged when all but metadata (resourceVersion, managedFields...) is.
  const unchanged = isRecord(obj) && isRecord(old) && deepEqual({ ...obj, metadata: undefined }, { ...old, metadata: undefined });
  visit({ schema, value: obj, old, unchanged, path: '', root: true }, w);
  return w.causes;
}
