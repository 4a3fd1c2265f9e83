import { ProtobufUnsupportedError } from './errors.ts';

/** Scalar and well-known kinds a field can hold. */
export type ScalarKind = 'string' | 'int32' | 'int64' | 'bool' | 'bytes' | 'intstr' | 'quantity' | 'time';

export interface FieldDef {
  readonly json: string;
  readonly num: number;
  /** A scalar kind, or the name of a message table. */
  readonly kind: ScalarKind | string;
  readonly repeated: boolean;
  /** Map value kind (keys are always strings in the types we serve). */
  readonly mapValue?: 'string' | 'bytes' | 'quantity';
  /** Go embeds this struct inline in JSON (`json:",inline"`). */
  readonly inline: boolean;
  /** A Go pointer field: a zero value was set on purpose and is kept. */
  readonly keepZero: boolean;
}

export type MessageDef = ReadonlyMap<number, FieldDef>;

const scalarKinds = new Set<string>(['string', 'int32', 'int64', 'bool', 'bytes', 'intstr', 'quantity', 'time']);

/**
 * parseField reads one table line `json=num:type`, where type is a scalar
 * kind, a message name, `@Message` (inline), `[]type` (repeated) or
 * `map<value>`; a trailing `?` marks a Go pointer field.
 */
function parseField(spec: string): FieldDef {
  const m = /^(\w+)=(\d+):(.+?)(\?)?$/.exec(spec);
  if (m === null) throw new Error(`bad protobuf field spec ${spec}`);
  let type = m[3]!;
  const keepZero = m[4] === '?';
  const repeated = type.startsWith('[]');
  if (repeated) type = type.slice(2);
  const mapMatch = /^map<(string|bytes|quantity)>$/.exec(type);
  if (mapMatch !== null) return { json: m[1]!, num: Number(m[2]), kind: 'map', repeated: false, mapValue: mapMatch[1] as 'string', inline: false, keepZero };
  const inline = type.startsWith('@');
  if (inline) type = type.slice(1);
  if (!scalarKinds.has(type) && !/^[A-Z]/.test(type)) throw new Error(`bad protobuf field kind ${spec}`);
  return { json: m[1]!, num: Number(m[2]), kind: type, repeated, inline, keepZero };
}

const registry = new Map<string, MessageDef>();

/** defineMessages adds message tables by name; a table lists its fields as `json=num:type` lines. */
export function defineMessages(tables: Record<string, readonly string[]>): void {
  for (const [name, specs] of Object.entries(tables)) {
    registry.set(name, new Map(specs.map((s) => { const f = parseField(s); return [f.num, f]; })));
  }
}

export function messageDef(name: string, path: string): MessageDef {
  const def = registry.get(name);
  if (def === undefined) throw new ProtobufUnsupportedError(path, `no protobuf table for message ${name}`);
  return def;
}

export function isScalar(kind: string): kind is ScalarKind {
  return scalarKinds.has(kind);
}
