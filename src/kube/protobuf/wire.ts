import { ProtobufDecodeError } from './errors.ts';

/** Wire types of the protobuf encoding (group types 3/4 are not used by Kubernetes). */
export const wireType = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export interface Tag {
  readonly field: number;
  readonly wire: number;
}

/** WireReader walks one message's bytes; `path` names the message in errors. */
export class WireReader {
  readonly #buf: Uint8Array;
  readonly #path: string;
  #pos = 0;

  constructor(buf: Uint8Array, path: string) {
    this.#buf = buf;
    this.#path = path;
  }

  done(): boolean {
    return this.#pos >= this.#buf.length;
  }

  tag(): Tag {
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtobufDecodeError(this.#path, 'field number 0 is invalid');
    if (wire === 3 || wire === 4 || wire > 5) throw new ProtobufDecodeError(this.#path, `field ${field} has unsupported wire type ${wire}`);
    return { field, wire };
  }

  /** varint returns the raw unsigned 64-bit value. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#pos >= this.#buf.length) throw new ProtobufDecodeError(this.#path, 'truncated varint');
      const byte = this.#buf[this.#pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new ProtobufDecodeError(this.#path, 'varint longer than 10 bytes');
  }

  fixed32(): Uint8Array {
    return this.#take(4, 'fixed32');
  }

  fixed64(): Uint8Array {
    return this.#take(8, 'fixed64');
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (length > BigInt(this.#buf.length - this.#pos)) throw new ProtobufDecodeError(this.#path, `length ${length} runs past the end of the input`);
    return this.#take(Number(length), 'bytes');
  }

  /** skip passes over a value of the given wire type (used for envelope fields we ignore). */
  skip(wire: number): void {
    if (wire === wireType.varint) this.varint();
    else if (wire === wireType.fixed64) this.fixed64();
    else if (wire === wireType.fixed32) this.fixed32();
    else this.bytes();
  }

  #take(n: number, what: string): Uint8Array {
    if (this.#pos + n > this.#buf.length) throw new ProtobufDecodeError(this.#path, `truncated ${what}`);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}

/** Signed views of a varint as Go's int32/int64 fields carry them (two's complement, no zigzag). */
export function toInt64(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}
