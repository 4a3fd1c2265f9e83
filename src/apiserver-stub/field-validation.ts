import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../kube/types.ts';
import { apiErrors } from './errors.ts';
import { cachedDefinitions, definitionName, type Definitions } from './openapi/definitions.ts';
import type { ResourceDef } from './resource.ts';
import { pruneAndDefault, type JsonSchemaProps } from './crd/schema.ts';

/**
 * Server-side field validation as kube-apiserver 1.27+ (`fieldValidation` on
 * create, update and patch): fields the kind's schema does not have and
 * fields a JSON body gives twice are a 400 under `Strict`, `Warning` headers
 * under `Warn` (the default when the parameter is absent), and nothing under
 * `Ignore`. The messages are kube's (`unknown field "spec.bogus"`,
 * `duplicate field "spec.replicas"`). Unlike kube, unknown fields are kept
 * rather than dropped: the schema is the 1.30 one and newer fields must survive.
 */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw apiErrors.badRequest(`fieldValidation: Unsupported value: ${JSON.stringify(value)}: supported values: "", "Ignore", "Strict", "Warn"`);
}

type Schema = Record<string, unknown>;

function resolve(definitions: Definitions, schema: Schema | undefined): Schema | undefined {
  let s = schema;
  for (let depth = 0; s && typeof s.$ref === 'string' && depth < 8; depth++) s = definitions[s.$ref.slice(s.$ref.lastIndexOf('/') + 1)];
  return s;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** unknownFields lists the paths of value's fields that its schema does not declare. */
export function unknownFields(definitions: Definitions, schema: Schema | undefined, value: unknown, path = '', out: string[] = []): string[] {
  const s = resolve(definitions, schema);
  if (!s || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    const items = s.items as Schema | undefined;
    if (items) value.forEach((v, i) => unknownFields(definitions, items, v, `${path}[${i}]`, out));
    return out;
  }
  const properties = s.properties as Record<string, Schema> | undefined;
  const additional = s.additionalProperties as Schema | undefined;
  for (const [key, v] of Object.entries(value)) {
    if (properties) {
      if (Object.hasOwn(properties, key)) unknownFields(definitions, properties[key], v, join(path, key), out);
      else out.push(join(path, key));
    } else if (additional) unknownFields(definitions, additional, v, join(path, key), out);
  }
  return out;
}

/** duplicateFields scans well-formed JSON text for object keys given twice, by path. */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = ++i;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    return JSON.parse(`"${text.slice(start, i++)}"`) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '"') return void str();
    if (c !== '{' && c !== '[') {
      while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++;
      return;
    }
    i++;
    const keys = new Set<string>();
    for (let index = 0; ; index++) {
      ws();
      if (text[i] === '}' || text[i] === ']') return void i++;
      if (c === '{') {
        const key = str();
        ws();
        i++; // the colon
        if (keys.has(key)) out.push(join(path, key));
        keys.add(key);
        value(join(path, key));
      } else value(`${path}[${index}]`);
      ws();
      if (text[i] === ',') i++;
    }
  };
  value('');
  return out;
}

export interface FieldProblems { unknown: string[]; duplicate: string[] }

/** problemsOf finds what a write body has that the kind's schema lacks; `before` excuses fields already stored. */
export function problemsOf(def: ResourceDef, obj: KubeObject, body: Buffer | undefined, before?: KubeObject): FieldProblems {
  const unknownOf = def.custom ? customUnknown(def.custom.schema) : builtinUnknown(def);
  let unknown = unknownOf(obj);
  if (before) {
    const old = new Set(unknownOf(before));
    unknown = unknown.filter((p) => !old.has(p));
  }
  const text = body?.toString('utf8').trimStart() ?? '';
  const duplicate = text.startsWith('{') ? duplicateFields(text) : [];
  return { unknown, duplicate };
}

function builtinUnknown(def: ResourceDef): (obj: KubeObject) => string[] {
  const definitions = cachedDefinitions(def.group, def.version);
  const schema = { $ref: `#/definitions/${definitionName(def)}` };
  return (obj) => unknownFields(definitions, schema, obj);
}

/** A custom resource's unknown fields are those its schema prunes (kube reports the pruned fields so). */
function customUnknown(schema: JsonSchemaProps | undefined): (obj: KubeObject) => string[] {
  return (obj) => pruneAndDefault(schema, structuredClone(obj));
}

function messages(p: FieldProblems): string[] {
  return [...p.unknown.map((f) => `unknown field ${JSON.stringify(f)}`), ...p.duplicate.map((f) => `duplicate field ${JSON.stringify(f)}`)];
}

/**
 * enforce applies the directive: Strict throws kube's 400 (a create or update
 * names the kind it could not decode, as the decoder does), Warn adds one
 * `Warning` header per problem (RFC 7234 code 299, as kube's warning recorder).
 */
export function enforce(directive: FieldValidation, def: ResourceDef, problems: FieldProblems, res: ServerResponse, verb: 'decode' | 'patch'): void {
  const list = messages(problems);
  if (directive === 'Ignore' || list.length === 0) return;
  if (directive === 'Strict') {
    const strict = `strict decoding error: ${list.join(', ')}`;
    throw apiErrors.badRequest(verb === 'patch' ? strict : `${def.kind} in version ${JSON.stringify(def.version)} cannot be handled as a ${def.kind}: ${strict}`);
  }
  // Set, not appended: a patch retried on a conflict reports its problems once.
  res.setHeader('Warning', list.map((m) => `299 - ${JSON.stringify(m)}`));
}
