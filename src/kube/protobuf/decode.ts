import { ProtobufDecodeError, ProtobufUnsupportedError } from './errors.ts';
import { isScalar, messageDef, type FieldDef, type ScalarKind } from './schema.ts';
import { WireReader, toInt32, toInt64, wireType } from './wire.ts';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * decodeMessage turns the bytes of message `name` into the JSON object a
 * JSON client would have sent: camelCase names, zero values omitted as Go's
 * omitempty does (pointer fields keep them), inline structs flattened.
 * An unknown field number is refused, never dropped.
 */
export function decodeMessage(name: string, bytes: Uint8Array, path: string): JsonObject {
  const def = messageDef(name, path);
  const out: JsonObject = {};
  const reader = new WireReader(bytes, path);
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    const f = def.get(field);
    if (f === undefined) throw new ProtobufUnsupportedError(path, `${name} field number ${field} is not supported`);
    const fieldPath = `${path}.${f.json}`;
    if (f.kind === 'map') {
      expectWire(wire, wireType.bytes, fieldPath);
      const [key, value] = mapEntry(reader.bytes(), f, fieldPath);
      const map = (out[f.json] ??= {}) as JsonObject;
      map[key] = value;
    } else if (isScalar(f.kind)) {
      readScalarField(reader, wire, f, f.kind, fieldPath, out);
    } else {
      expectWire(wire, wireType.bytes, fieldPath);
      const value = decodeMessage(f.kind, reader.bytes(), fieldPath);
      if (f.inline) Object.assign(out, value);
      else if (f.repeated) ((out[f.json] ??= []) as Json[]).push(value);
      else out[f.json] = value;
    }
  }
  return out;
}

function readScalarField(reader: WireReader, wire: number, f: FieldDef, kind: ScalarKind, path: string, out: JsonObject): void {
  if (f.repeated && wire === wireType.bytes && (kind === 'int32' || kind === 'int64' || kind === 'bool')) {
    // packed repeated numbers
    const packed = new WireReader(reader.bytes(), path);
    const list = (out[f.json] ??= []) as Json[];
    while (!packed.done()) list.push(numeric(kind, packed.varint()));
    return;
  }
  const value = readScalar(reader, wire, kind, path);
  if (f.repeated) ((out[f.json] ??= []) as Json[]).push(value);
  else if (f.keepZero || !isZero(value)) out[f.json] = value;
}

function readScalar(reader: WireReader, wire: number, kind: ScalarKind, path: string): Json {
  switch (kind) {
    case 'int32': case 'int64': case 'bool':
      expectWire(wire, wireType.varint, path);
      return numeric(kind, reader.varint());
    case 'string':
      expectWire(wire, wireType.bytes, path);
      return text(reader.bytes(), path);
    case 'bytes':
      expectWire(wire, wireType.bytes, path);
      return Buffer.from(reader.bytes()).toString('base64');
    case 'intstr':
      expectWire(wire, wireType.bytes, path);
      return intOrString(reader.bytes(), path);
    case 'quantity':
      expectWire(wire, wireType.bytes, path);
      return quantity(reader.bytes(), path);
    case 'time':
      expectWire(wire, wireType.bytes, path);
      return time(reader.bytes(), path);
  }
}

function numeric(kind: 'int32' | 'int64' | 'bool', v: bigint): number | boolean {
  if (kind === 'bool') return v !== 0n;
  return kind === 'int32' ? toInt32(v) : toInt64(v);
}

function isZero(v: Json): boolean {
  return v === '' || v === 0 || v === false;
}

function expectWire(got: number, want: number, path: string): void {
  if (got !== want) throw new ProtobufDecodeError(path, `wire type ${got} where ${want} was expected`);
}

function text(bytes: Uint8Array, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufDecodeError(path, 'string is not valid UTF-8');
  }
}

function mapEntry(bytes: Uint8Array, f: FieldDef, path: string): [string, Json] {
  const reader = new WireReader(bytes, path);
  let key = '';
  let value: Json = f.mapValue === 'quantity' ? '0' : '';
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    if (field === 1) key = readScalar(reader, wire, 'string', `${path}.key`) as string;
    else if (field === 2) value = readScalar(reader, wire, f.mapValue!, `${path}[${key}]`) as Json;
    else throw new ProtobufUnsupportedError(path, `map entry field number ${field} is not supported`);
  }
  return [key, value];
}

/** IntOrString{type=1 (0 int, 1 string), intVal=2, strVal=3}. */
function intOrString(bytes: Uint8Array, path: string): Json {
  const reader = new WireReader(bytes, path);
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    if (field === 1) { expectWire(wire, wireType.varint, path); type = toInt64(reader.varint()); }
    else if (field === 2) { expectWire(wire, wireType.varint, path); intVal = toInt32(reader.varint()); }
    else if (field === 3) { expectWire(wire, wireType.bytes, path); strVal = text(reader.bytes(), path); }
    else throw new ProtobufUnsupportedError(path, `IntOrString field number ${field} is not supported`);
  }
  return type === 1 ? strVal : intVal;
}

/** Quantity{string=1}. */
function quantity(bytes: Uint8Array, path: string): string {
  const reader = new WireReader(bytes, path);
  let value = '0';
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    if (field !== 1) throw new ProtobufUnsupportedError(path, `Quantity field number ${field} is not supported`);
    expectWire(wire, wireType.bytes, path);
    value = text(reader.bytes(), path);
  }
  return value;
}

/**
 * Time{seconds=1, nanos=2}; metav1.Time marshals to JSON as RFC3339 in
 * seconds. Go writes a zero Time as an empty message and as JSON null (the
 * `creationTimestamp: null` of every JSON create), so null it is.
 */
function time(bytes: Uint8Array, path: string): string | null {
  const reader = new WireReader(bytes, path);
  let seconds = 0;
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    expectWire(wire, wireType.varint, path);
    if (field === 1) seconds = toInt64(reader.varint());
    else if (field === 2) reader.varint();
    else throw new ProtobufUnsupportedError(path, `Time field number ${field} is not supported`);
  }
  if (seconds === 0) return null;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
