import type { StatusCause } from '../../kube/types.ts';
import type { ValidationRule } from './cel-rules.ts';
import { isRecord } from '../../util/records.ts';

/**
 * A CRD version's structural schema (apiextensions `JSONSchemaProps`) and
 * what kube-apiserver does with it on every write: prune fields the schema
 * does not declare (unless `x-kubernetes-preserve-unknown-fields`), fill
 * `default`s, and validate types, required, enum, bounds and patterns with
 * kube's messages (`spec.replicas in body must be of type integer`).
 * CEL `x-kubernetes-validations` rules are cel-rules.ts's and cel-validate.ts's.
 * Not supported: oneOf/anyOf/allOf/not.
 */
export interface JsonSchemaProps {
  type?: string;
  properties?: Record<string, JsonSchemaProps>;
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps | boolean;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** The root fields every object has whatever its schema says (kube handles metadata itself). */
const rootFields = new Set(['apiVersion', 'kind', 'metadata']);

/** pruneAndDefault drops undeclared fields and fills defaults, in place; returns the pruned paths (for warnings). */
export function pruneAndDefault(schema: JsonSchemaProps | undefined, value: unknown, path = '', pruned: string[] = []): string[] {
  if (!schema) return pruned;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => pruneAndDefault(schema.items, v, `${path}[${i}]`, pruned));
    return pruned;
  }
  if (!isRecord(value)) return pruned;
  const props = schema.properties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-embedded-resource'] === true;
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    if (path === '' && rootFields.has(key)) continue;
    if (props && Object.hasOwn(props, key)) pruneAndDefault(props[key], value[key], join(path, key), pruned);
    else if (isRecord(additional)) pruneAndDefault(additional, value[key], join(path, key), pruned);
    else if (!preserve && additional !== true) {
      delete value[key];
      pruned.push(join(path, key));
    }
  }
  for (const [key, prop] of Object.entries(props ?? {})) {
    if (prop.default === undefined) continue;
    // A null with a default takes the default unless the field is nullable (kube's defaulting of nulls).
    if (value[key] === undefined || (value[key] === null && prop.nullable !== true)) {
      value[key] = structuredClone(prop.default);
      pruneAndDefault(prop, value[key], join(path, key), pruned);
    }
  }
  return pruned;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(schema: JsonSchemaProps, v: unknown): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  const actual = typeName(v);
  switch (schema.type) {
    case undefined:
    case '':
      return true;
    case 'number':
      return actual === 'number' || actual === 'integer';
    default:
      return actual === schema.type;
  }
}

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));
const invalid = (field: string, value: unknown, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown(value)}: ${detail}` });

/** validateSchema returns kube's causes for value against schema, every field checked. */
export function validateSchema(schema: JsonSchemaProps | undefined, value: unknown, path = '', out: StatusCause[] = []): StatusCause[] {
  if (!schema) return out;
  if (value === null) {
    if (schema.nullable !== true && path !== '') out.push(invalid(path, 'null', `${path} in body must be of type ${schema.type ?? 'object'}: "null"`));
    return out;
  }
  if (!typeMatches(schema, value)) {
    const wanted = schema['x-kubernetes-int-or-string'] ? 'integer,string' : schema.type;
    out.push(invalid(path, typeName(value), `${path} in body must be of type ${wanted}: ${JSON.stringify(typeName(value))}`));
    return out;
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push({ reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${shown(value)}: supported values: ${schema.enum.map(shown).join(', ')}` });
  }
  if (typeof value === 'number') checkNumber(schema, value, path, out);
  if (typeof value === 'string') checkString(schema, value, path, out);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`));
    if (schema.maxItems !== undefined && value.length > schema.maxItems) out.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    value.forEach((v, i) => validateSchema(schema.items, v, `${path}[${i}]`, out));
  }
  if (isRecord(value)) {
    for (const key of schema.required ?? []) if (value[key] === undefined) out.push({ reason: 'FieldValueRequired', field: join(path, key), message: 'Required value' });
    for (const [key, v] of Object.entries(value)) {
      if (path === '' && key === 'metadata') continue;
      const prop = schema.properties?.[key] ?? (isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined);
      validateSchema(prop, v, join(path, key), out);
    }
  }
  return out;
}

function checkNumber(schema: JsonSchemaProps, v: number, path: string, out: StatusCause[]): void {
  const { minimum: min, maximum: max } = schema;
  if (min !== undefined && (schema.exclusiveMinimum ? v <= min : v < min)) out.push(invalid(path, v, `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${min}`));
  if (max !== undefined && (schema.exclusiveMaximum ? v >= max : v > max)) out.push(invalid(path, v, `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${max}`));
}

function checkString(schema: JsonSchemaProps, v: string, path: string, out: StatusCause[]): void {
  const length = [...v].length;
  if (schema.minLength !== undefined && length < schema.minLength) out.push(invalid(path, v, `${path} in body should be at least ${schema.minLength} chars long`));
  if (schema.maxLength !== undefined && length > schema.maxLength) out.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${schema.maxLength} bytes` });
  if (schema.pattern !== undefined && !safeRegExp(schema.pattern)?.test(v)) out.push(invalid(path, v, `${path} in body should match '${schema.pattern}'`));
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

/** schemaProblems checks a CRD's schema itself: structural (a type everywhere but under preserve-unknown-fields) and valid patterns. */
export function schemaProblems(schema: JsonSchemaProps | undefined, path: string, out: StatusCause[] = [], root = true): StatusCause[] {
  if (!schema) return out;
  const free = schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true;
  if (!free && (schema.type === undefined || schema.type === '')) out.push({ reason: 'FieldValueRequired', field: `${path}.type`, message: 'Required value: must not be empty for specified object fields' });
  if (root && schema.type !== undefined && schema.type !== 'object') out.push({ reason: 'FieldValueInvalid', field: `${path}.type`, message: `Invalid value: ${JSON.stringify(schema.type)}: must be object at the root` });
  if (schema.pattern !== undefined && safeRegExp(schema.pattern) === undefined) out.push({ reason: 'FieldValueInvalid', field: `${path}.pattern`, message: `Invalid value: ${JSON.stringify(schema.pattern)}: must be a valid regular expression` });
  for (const [k, p] of Object.entries(schema.properties ?? {})) schemaProblems(p, `${path}.properties[${k}]`, out, false);
  if (schema.items) schemaProblems(schema.items, `${path}.items`, out, false);
  if (isRecord(schema.additionalProperties)) schemaProblems(schema.additionalProperties as JsonSchemaProps, `${path}.additionalProperties`, out, false);
  return out;
}
