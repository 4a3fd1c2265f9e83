/**
 * The protobuf form of `/openapi/v2` (gnostic's `openapi.v2.Document`,
 * `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): client-go's
 * `OpenAPISchema()` asks only for it, and kubectl validates with it. Only what
 * kubectl reads is encoded: swagger, info and the definitions (field numbers
 * from gnostic's OpenAPIv2.proto); vendor extensions carry their value as YAML
 * text, for which JSON serves.
 */
type Schema = Record<string, unknown>;

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    while (n > 0x7f) {
      bytes.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    bytes.push(n);
    this.parts.push(Buffer.from(bytes));
  }

  bytes(field: number, value: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.parts.push(value);
    return this;
  }

  string(field: number, value: unknown): this {
    return typeof value === 'string' && value !== '' ? this.bytes(field, Buffer.from(value, 'utf8')) : this;
  }

  message(field: number, value: Buffer | undefined): this {
    return value === undefined ? this : this.bytes(field, value);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function namedAny(name: string, value: unknown): Buffer {
  const any = new Writer().string(2, JSON.stringify(value)).finish();
  return new Writer().string(1, name).message(2, any).finish();
}

function encodeSchema(s: Schema): Buffer {
  const w = new Writer();
  w.string(1, s.$ref).string(2, s.format).string(4, s.description);
  for (const r of (s.required as string[] | undefined) ?? []) w.string(19, r);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    w.message(21, new Writer().message(1, encodeSchema(s.additionalProperties as Schema)).finish());
  }
  if (typeof s.type === 'string') w.message(22, new Writer().string(1, s.type).finish());
  if (s.items && typeof s.items === 'object') w.message(23, new Writer().message(1, encodeSchema(s.items as Schema)).finish());
  if (s.properties && typeof s.properties === 'object') {
    const props = new Writer();
    for (const [name, value] of Object.entries(s.properties as Record<string, Schema>)) props.message(1, namedSchema(name, value));
    w.message(25, props.finish());
  }
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) w.message(31, namedAny(k, v));
  return w.finish();
}

function namedSchema(name: string, schema: Schema): Buffer {
  return new Writer().string(1, name).message(2, encodeSchema(schema)).finish();
}

/** encodeOpenApiV2 encodes a swagger 2.0 document's swagger, info and definitions. */
export function encodeOpenApiV2(doc: { swagger: string; info: { title: string; version: string }; definitions: Record<string, Schema> }): Buffer {
  const info = new Writer().string(1, doc.info.title).string(2, doc.info.version).finish();
  const defs = new Writer();
  for (const [name, schema] of Object.entries(doc.definitions)) defs.message(1, namedSchema(name, schema));
  return new Writer().string(1, doc.swagger).message(2, info).message(9, defs.finish()).finish();
}
