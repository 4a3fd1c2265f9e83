import type { JsonSchemaProps } from './schema.ts';

/**
 * The part of kube's type check of a rule against its schema that cel-js
 * cannot do (`self` is dynamic there): a field selected from `self`, from
 * `oldSelf` or from a macro's variable over them must be declared by the
 * schema, else the rule does not compile (`undefined field 'x'`), as kube
 * refuses it when the CRD is written instead of failing every object.
 * Only objects that declare their properties and keep no unknown fields are
 * checked; everything else (maps, preserved or embedded objects, computed
 * values) is left dynamic.
 */
type Node = { op?: string; args?: unknown; range?: { start: number; end: number } };

const reservedWords = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/**
 * celFieldName is a declared property's name as rules select it (kube's
 * escaping: a CEL reserved word `namespace` is `__namespace__`; `__`, `.`,
 * `-`, `/` are `__underscores__`, `__dot__`, `__dash__`, `__slash__`), or
 * undefined for a name rules cannot select.
 */
export function celFieldName(name: string): string | undefined {
  if (reservedWords.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$/.test(name)) return undefined;
  return name.replace(/__|[.\-/]/g, (c) => ({ __: '__underscores__', '.': '__dot__', '-': '__dash__', '/': '__slash__' })[c]!);
}

/** declared finds the property a rule selects by its CEL name. */
function declared(s: JsonSchemaProps, field: string): JsonSchemaProps | undefined {
  const name = Object.keys(s.properties ?? {}).find((k) => celFieldName(k) === field);
  return name === undefined ? undefined : s.properties![name];
}

export interface FieldProblem {
  readonly message: string;
  readonly start: number;
}

const iterationMacros = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** The root's self: the object's schema with apiVersion, kind and of metadata only name and generateName (kube's WithTypeAndObjectMeta). */
export function rootSchema(schema: JsonSchemaProps): JsonSchemaProps {
  const metadata: JsonSchemaProps = { type: 'object', properties: { name: { type: 'string' }, generateName: { type: 'string' } } };
  return { ...schema, properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata, ...schema.properties } };
}

/** closed: an object whose fields are exactly its declared properties. */
function closed(s: JsonSchemaProps): boolean {
  return s.properties !== undefined && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true && s['x-kubernetes-embedded-resource'] !== true;
}

class Checker {
  problem: FieldProblem | undefined;
  private readonly vars: Map<string, JsonSchemaProps | undefined>;

  constructor(vars: Map<string, JsonSchemaProps | undefined>) {
    this.vars = vars;
  }

  /** visit checks node and gives the schema of its value where it is known. */
  visit(node: unknown, scope: Map<string, JsonSchemaProps | undefined>): JsonSchemaProps | undefined {
    if (this.problem !== undefined || typeof node !== 'object' || node === null) return undefined;
    if (Array.isArray(node)) return void node.forEach((n) => this.visit(n, scope)), undefined;
    const n = node as Node;
    const args = n.args;
    switch (n.op) {
      case 'id':
        return scope.has(args as string) ? scope.get(args as string) : this.vars.get(args as string);
      case '.':
        return this.select(n, scope);
      case '[]': {
        const [base, index] = args as [unknown, unknown];
        const s = this.visit(base, scope);
        this.visit(index, scope);
        return s?.items ?? (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined);
      }
      case 'rcall':
        return this.call(args as [string, unknown, unknown[]], scope);
      default:
        if (n.op !== undefined && typeof args === 'object') this.visit(args, scope);
        return undefined;
    }
  }

  private select(n: Node, scope: Map<string, JsonSchemaProps | undefined>): JsonSchemaProps | undefined {
    const [base, field] = n.args as [unknown, string];
    const s = this.visit(base, scope);
    if (s === undefined) return undefined;
    if (typeof s.additionalProperties === 'object') return s.additionalProperties;
    if (!closed(s)) return undefined;
    const prop = declared(s, field);
    if (prop !== undefined) return prop;
    this.problem = { message: `undefined field '${field}'`, start: (n.range?.end ?? field.length) - field.length };
    return undefined;
  }

  private call([name, receiver, args]: [string, unknown, unknown[]], scope: Map<string, JsonSchemaProps | undefined>): JsonSchemaProps | undefined {
    const over = this.visit(receiver, scope);
    const variable = args[0] as Node | undefined;
    if (!iterationMacros.has(name) || variable?.op !== 'id' || args.length < 2) {
      this.visit(args, scope);
      return undefined;
    }
    // A macro's variable ranges over a list's items or a map's keys (strings).
    const element = over?.items ?? (over?.type === 'object' ? { type: 'string' } : undefined);
    const inner = new Map(scope).set(variable.args as string, element);
    for (const body of args.slice(1)) this.visit(body, inner);
    return name === 'filter' ? over : undefined;
  }
}

/** fieldProblem finds the first field a rule selects that its schema does not declare. */
export function fieldProblem(ast: unknown, self: JsonSchemaProps, oldSelfOptional: boolean): FieldProblem | undefined {
  const vars = new Map<string, JsonSchemaProps | undefined>([['self', self], ['oldSelf', oldSelfOptional ? undefined : self]]);
  const checker = new Checker(vars);
  checker.visit(ast, new Map());
  return checker.problem;
}
