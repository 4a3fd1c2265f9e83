import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../kube/types.ts';
import { apiErrors } from './errors.ts';
import { cachedDefinitions, definitionName, type Definitions } from './openapi/definitions.ts';
import type { ResourceDef } from './resource.ts';
import { pruneAndDefault, type JsonSchemaProps } from './crd/schema.ts';
import { resolve } from './managed-fields/fieldset.ts';

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


/**
 * Paths are kept as a stack of segments (`key` or `[i]`) and rendered only
 * for a field that is reported: every create walks its whole body twice here,
 * and almost none has a problem.
 */
type Segments = Array<string | number>;
const render = (path: Segments): string => path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out === '' ? seg : `${out}.${seg}`), '');

/** unknownFields lists the paths of value's fields that its schema does not declare. */
export function unknownFields(definitions: Definitions, schema: Schema | undefined, value: unknown, path: Segments = [], out: string[] = []): string[] {
  const s = resolve(definitions, schema);
  if (!s || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    const items = s.items as Schema | undefined;
    if (!items) return out;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      unknownFields(definitions, items, value[i], path, out);
      path.pop();
    }
    return out;
  }
  const properties = s.properties as Record<string, Schema> | undefined;
  const additional = s.additionalProperties as Schema | undefined;
  if (!properties && !additional) return out;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child = properties ? (Object.hasOwn(properties, key) ? properties[key] : undefined) : additional;
    path.push(key);
    if (child === undefined) out.push(render(path));
    else unknownFields(definitions, child, (value as Record<string, unknown>)[key], path, out);
    path.pop();
  }
  return out;
}

const SPACE = 32, TAB = 9, CR = 13, LF = 10, QUOTE = 34, BACKSLASH = 92, COMMA = 44, OPEN_OBJECT = 123, CLOSE_OBJECT = 125, OPEN_LIST = 91, CLOSE_LIST = 93;
const isSpace = (c: number): boolean => c === SPACE || c === LF || c === CR || c === TAB;

/** duplicateFields scans well-formed JSON text for object keys given twice, by path. */
export function duplicateFields(text: string): string[] {
  const scanner = new DuplicateScanner(text);
  scanner.value();
  return scanner.out;
}

/** DuplicateScanner walks JSON text once; its steps are methods, not closures made anew for every body. */
class DuplicateScanner {
  readonly out: string[] = [];
  private readonly path: Segments = [];
  private i = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  private ws(): void {
    while (this.i < this.text.length && isSpace(this.text.charCodeAt(this.i))) this.i++;
  }

  private str(): string {
    const { text } = this;
    const start = ++this.i;
    let escaped = false;
    for (let c = text.charCodeAt(this.i); c !== QUOTE; c = text.charCodeAt(this.i)) {
      if (c === BACKSLASH) {
        escaped = true;
        this.i += 2;
      } else this.i++;
    }
    const raw = text.slice(start, this.i++);
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  value(): void {
    const { text, path } = this;
    this.ws();
    const c = text.charCodeAt(this.i);
    if (c === QUOTE) return void this.str();
    if (c !== OPEN_OBJECT && c !== OPEN_LIST) {
      for (let d = c; this.i < text.length && d !== COMMA && d !== CLOSE_LIST && d !== CLOSE_OBJECT && !isSpace(d); d = text.charCodeAt(this.i)) this.i++;
      return;
    }
    this.i++;
    const keys = c === OPEN_OBJECT ? new Set<string>() : undefined;
    for (let index = 0; ; index++) {
      this.ws();
      const d = text.charCodeAt(this.i);
      if (d === CLOSE_OBJECT || d === CLOSE_LIST) return void this.i++;
      if (keys) {
        const key = this.str();
        this.ws();
        this.i++; // the colon
        path.push(key);
        if (keys.has(key)) this.out.push(render(path));
        keys.add(key);
      } else path.push(index);
      this.value();
      path.pop();
      this.ws();
      if (text.charCodeAt(this.i) === COMMA) this.i++;
    }
  }
}

export interface FieldProblems { unknown: string[]; duplicate: string[] }

/** problemsOf finds what a write body has that the kind's schema lacks; `before` excuses fields already stored. */
export function problemsOf(def: ResourceDef, obj: KubeObject, body: Buffer | undefined, before?: KubeObject): FieldProblems {
  const unknownOf = def.custom ? customUnknown(def.custom.schema) : builtinUnknown(def);
  let unknown = unknownOf(obj);
  // Only a write with unknown fields needs the stored object's to excuse (most have none).
  if (before && unknown.length > 0) {
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
