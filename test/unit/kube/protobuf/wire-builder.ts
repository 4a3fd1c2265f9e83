/**
 * Hand encoders for test fixtures, written from the protobuf wire rules:
 * a key is varint(field << 3 | wireType); varints are little-endian base-128;
 * length-delimited values are varint(length) + bytes.
 */
export function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

export function key(field: number, wire: number): number[] {
  return varint((field << 3) | wire);
}

export function int(field: number, value: number | bigint): number[] {
  return [...key(field, 0), ...varint(value)];
}

export function bytes(field: number, payload: number[] | string): number[] {
  const body = typeof payload === 'string' ? [...Buffer.from(payload, 'utf8')] : payload;
  return [...key(field, 2), ...varint(body.length), ...body];
}

export const str = bytes;
export const msg = (field: number, ...parts: number[][]): number[] => bytes(field, parts.flat());
export const entry = (field: number, k: string, v: number[] | string): number[] => msg(field, str(1, k), typeof v === 'string' ? str(2, v) : bytes(2, v));

/** envelope wraps a typed object: `k8s\0` + runtime.Unknown{typeMeta=1{apiVersion=1,kind=2}, raw=2}. */
export function envelope(apiVersion: string, kind: string, raw: number[]): Uint8Array {
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytes(2, raw)]);
}
