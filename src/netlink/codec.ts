import { NetlinkDecodeError } from './errors.ts';

/**
 * Netlink wire encoding and decoding, pure (Buffer in, Buffer out) and apart
 * from the socket so tests compare bytes. Netlink integers are in host byte
 * order; Ferry runs on little-endian machines (x86-64, arm64), so host order is
 * written as LE. Ports and addresses are network order (big-endian) as the
 * kernel's attribute policies say.
 */

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 1 << 15;
const NLA_TYPE_MASK = 0x3fff;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On NLMSG_ERROR: the original request was cut to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** On NLMSG_ERROR: extended-ack TLVs follow the original request. */
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

const NLMSGERR_ATTR_MSG = 1;

export const align4 = (n: number): number => (n + 3) & ~3;

/**
 * MessageWriter builds one or more netlink messages into a growing buffer:
 * `begin(type, flags)`, fixed headers and attributes, `end()`. The sequence
 * number and port id are left 0; the socket stamps the sequence at send time.
 */
export class MessageWriter {
  private buf: Buffer;
  private len = 0;
  private readonly starts: number[] = [];

  constructor(capacity = 256) {
    this.buf = Buffer.alloc(capacity);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** begin opens a message; end() closes it and writes its length. */
  begin(type: number, flags: number): this {
    this.reserve(NLMSG_HDRLEN);
    this.starts.push(this.len);
    this.buf.fill(0, this.len, this.len + NLMSG_HDRLEN);
    this.buf.writeUInt16LE(type, this.len + 4);
    this.buf.writeUInt16LE(flags, this.len + 6);
    this.len += NLMSG_HDRLEN;
    return this;
  }

  end(): this {
    const start = this.starts.pop();
    if (start === undefined) throw new Error('MessageWriter.end without begin');
    this.buf.writeUInt32LE(this.len - start, start);
    // The next message starts 4-byte aligned; the length above excludes this padding.
    this.pad();
    return this;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf.writeUInt8(v, this.len++);
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  private pad(): void {
    const n = align4(this.len) - this.len;
    this.reserve(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  private attrHeader(type: number, payloadLen: number): void {
    this.reserve(NLA_HDRLEN + payloadLen + 3);
    this.buf.writeUInt16LE(NLA_HDRLEN + payloadLen, this.len);
    this.buf.writeUInt16LE(type, this.len + 2);
    this.len += NLA_HDRLEN;
  }

  attrBytes(type: number, value: Uint8Array): this {
    this.attrHeader(type, value.length);
    this.bytes(value).pad();
    return this;
  }

  attrU8(type: number, v: number): this {
    this.attrHeader(type, 1);
    this.u8(v).pad();
    return this;
  }

  attrU16(type: number, v: number): this {
    this.attrHeader(type, 2);
    this.u16(v).pad();
    return this;
  }

  /** attrBe16: a 16-bit value in network byte order (ports). */
  attrBe16(type: number, v: number): this {
    this.attrHeader(type, 2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    this.pad();
    return this;
  }

  /** attrBe32: a 32-bit value in network byte order (nf_tables verdict codes, which may be negative). */
  attrBe32(type: number, v: number): this {
    this.attrHeader(type, 4);
    this.reserve(4);
    this.buf.writeInt32BE(v | 0, this.len);
    this.len += 4;
    return this;
  }

  attrU32(type: number, v: number): this {
    this.attrHeader(type, 4);
    return this.u32(v);
  }

  /** attrString writes a NUL-terminated string (NLA_NUL_STRING / NLA_STRING with terminator). */
  attrString(type: number, s: string): this {
    return this.attrBytes(type, Buffer.from(`${s}\0`));
  }

  /** attrNested writes the attributes `fill` adds inside one attribute; `nestedFlag` sets NLA_F_NESTED. */
  attrNested(type: number, fill: (w: this) => void, nestedFlag = true): this {
    this.reserve(NLA_HDRLEN);
    const start = this.len;
    this.buf.writeUInt16LE(nestedFlag ? type | NLA_F_NESTED : type, start + 2);
    this.len += NLA_HDRLEN;
    fill(this);
    this.buf.writeUInt16LE(this.len - start, start);
    return this;
  }

  get length(): number {
    return this.len;
  }

  /** finish returns the bytes written (a copy, so the writer can be dropped or reused). */
  finish(): Buffer {
    if (this.starts.length > 0) throw new Error('MessageWriter.finish with an open message');
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** NetlinkMessage is one decoded message; `body` is everything after the 16-byte header. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Buffer;
}

/** parseMessages splits a datagram into messages. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new NetlinkDecodeError(`message length ${len} at offset ${off} of ${buf.length}`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attrs maps attribute type (flags masked off) to its payload. */
export type Attrs = Map<number, Buffer>;

/** parseAttrs decodes the attributes in buf[offset..]. */
export function parseAttrs(buf: Buffer, offset = 0): Attrs {
  const attrs: Attrs = new Map();
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) throw new NetlinkDecodeError(`attribute length ${len} at offset ${off} of ${buf.length}`);
    attrs.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return attrs;
}

function need(attrs: Attrs, type: number, size: number, what: string): Buffer {
  const b = attrs.get(type);
  if (!b || b.length < size) throw new NetlinkDecodeError(`${what}: attribute ${type} missing or short`);
  return b;
}

export const getU16 = (a: Attrs, type: number, what: string): number => need(a, type, 2, what).readUInt16LE(0);
export const getBe16 = (a: Attrs, type: number, what: string): number => need(a, type, 2, what).readUInt16BE(0);
export const getU32 = (a: Attrs, type: number, what: string): number => need(a, type, 4, what).readUInt32LE(0);
/** getBe64 reads a big-endian u64 counter (exact below 2^53). */
export const getBe64 = (a: Attrs, type: number, what: string): number => Number(need(a, type, 8, what).readBigUInt64BE(0));
export const getOptU32 = (a: Attrs, type: number): number | undefined => {
  const b = a.get(type);
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
};
export const getString = (a: Attrs, type: number): string | undefined => {
  const b = a.get(type);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
};

/** NetlinkErrorReply is a decoded NLMSG_ERROR: error 0 is an ACK, negative is −errno. */
export interface NetlinkErrorReply {
  readonly error: number;
  readonly extAck: string | undefined;
}

/** parseErrorReply decodes an NLMSG_ERROR body, including the extended-ack message. */
export function parseErrorReply(msg: NetlinkMessage): NetlinkErrorReply {
  if (msg.body.length < 4) throw new NetlinkDecodeError('NLMSG_ERROR shorter than its error code');
  const error = msg.body.readInt32LE(0);
  if (!(msg.flags & NLM_F_ACK_TLVS) || msg.body.length < 4 + NLMSG_HDRLEN) return { error, extAck: undefined };
  const origLen = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : msg.body.readUInt32LE(4);
  const tlvs = parseAttrs(msg.body.subarray(Math.min(msg.body.length, 4 + align4(origLen))));
  return { error, extAck: getString(tlvs, NLMSGERR_ATTR_MSG) };
}
