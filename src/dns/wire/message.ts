import { ipv6Groups } from '../../util/ipv6.ts';
import { FLAG, HEADER_SIZE, MAX_TCP_SIZE, QTYPE } from './constants.ts';
import { NameCompressor } from './name.ts';

/**
 * ResourceRecord is one answer record. Owner names and targets are text
 * names without the trailing dot. `raw` carries RDATA copied verbatim from
 * an upstream answer; only types whose RDATA holds no names may use it.
 */
export type ResourceRecord = { name: string; ttl: number } & (
  | { type: typeof QTYPE.A | typeof QTYPE.AAAA; address: string }
  | { type: typeof QTYPE.CNAME | typeof QTYPE.PTR | typeof QTYPE.NS; target: string }
  | { type: typeof QTYPE.SRV; priority: number; weight: number; port: number; target: string }
  | { type: typeof QTYPE.TXT; texts: string[] }
  | { type: typeof QTYPE.SOA; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { type: 'raw'; rrtype: number; rdata: Buffer }
);

export interface Question {
  /** As the client sent it (case kept). */
  qname: string;
  qtype: number;
  qclass: number;
}

/** ResponseEdns is the OPT record of a response. */
export interface ResponseEdns {
  udpSize: number;
  /** Upper 8 bits of a 12-bit rcode (1 for BADVERS). */
  extendedRcode: number;
  dnssecOk: boolean;
}

/** Message is a response to encode; `flags` holds QR/AA/RD/... and the low 4 rcode bits. */
export interface Message {
  id: number;
  flags: number;
  question: Question | undefined;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  edns: ResponseEdns | undefined;
}

const OPT_SIZE = 11;
/**
 * Every message is written here and copied out at its size: a buffer of
 * `limit` bytes per message, taken from Node's shared pool, would keep a
 * whole 8 KB pool slab alive for every dozen cached responses.
 */
const scratch = Buffer.allocUnsafeSlow(MAX_TCP_SIZE);

/**
 * encodeMessage writes `msg` in at most `limit` bytes. Records that do not
 * fit are dropped whole, in section order (answer, authority, additional),
 * as miekg/dns Msg.Truncate does for CoreDNS; TC is set when an answer or
 * authority record had to go (RFC 2181 §9: missing glue alone is no reason).
 * The OPT record always fits: its room is reserved first.
 */
export function encodeMessage(msg: Message, limit: number): Buffer {
  const buf = limit <= scratch.length ? scratch : Buffer.allocUnsafe(limit);
  const names = new NameCompressor();
  const room = limit - (msg.edns ? OPT_SIZE : 0);
  let off = HEADER_SIZE;
  let qd = 0;
  if (msg.question) {
    off = names.write(buf, off, msg.question.qname, room - 4);
    if (off < 0) throw new RangeError('question does not fit in the message');
    buf.writeUInt16BE(msg.question.qtype, off);
    buf.writeUInt16BE(msg.question.qclass, off + 2);
    off += 4;
    qd = 1;
  }
  let truncated = false;
  const counts = [0, 0, 0];
  const sections = [msg.answer, msg.authority, msg.additional];
  for (let s = 0; s < 3 && !truncated; s++) {
    for (const rr of sections[s]!) {
      const next = writeRecord(buf, off, rr, names, room);
      if (next < 0) {
        names.forget(off);
        if (s < 2) truncated = true;
        break;
      }
      off = next;
      counts[s]!++;
    }
  }
  let arcount = counts[2]!;
  if (msg.edns) {
    buf[off] = 0;
    buf.writeUInt16BE(QTYPE.OPT, off + 1);
    buf.writeUInt16BE(msg.edns.udpSize, off + 3);
    buf[off + 5] = msg.edns.extendedRcode;
    buf[off + 6] = 0;
    buf.writeUInt16BE(msg.edns.dnssecOk ? 0x8000 : 0, off + 7);
    buf.writeUInt16BE(0, off + 9);
    off += OPT_SIZE;
    arcount++;
  }
  buf.writeUInt16BE(msg.id, 0);
  buf.writeUInt16BE(truncated ? msg.flags | FLAG.TC : msg.flags, 2);
  buf.writeUInt16BE(qd, 4);
  buf.writeUInt16BE(counts[0]!, 6);
  buf.writeUInt16BE(counts[1]!, 8);
  buf.writeUInt16BE(arcount, 10);
  return Buffer.from(buf.subarray(0, off));
}

/** writeRecord encodes one record at `off`; returns the next offset or -1 if it passes `limit`. */
function writeRecord(buf: Buffer, off: number, rr: ResourceRecord, names: NameCompressor, limit: number): number {
  const start = off;
  off = names.write(buf, off, rr.name, limit);
  if (off < 0 || off + 10 > limit) return -1;
  buf.writeUInt16BE(rr.type === 'raw' ? rr.rrtype : rr.type, off);
  buf.writeUInt16BE(1, off + 2);
  buf.writeUInt32BE(rr.ttl >>> 0, off + 4);
  const rdStart = off + 10;
  const rdEnd = writeRdata(buf, rdStart, rr, names, limit);
  if (rdEnd < 0) {
    names.forget(start);
    return -1;
  }
  buf.writeUInt16BE(rdEnd - rdStart, off + 8);
  return rdEnd;
}

function writeRdata(buf: Buffer, off: number, rr: ResourceRecord, names: NameCompressor, limit: number): number {
  switch (rr.type) {
    case QTYPE.A:
      if (off + 4 > limit) return -1;
      writeIPv4(buf, off, rr.address);
      return off + 4;
    case QTYPE.AAAA:
      if (off + 16 > limit) return -1;
      writeIPv6(buf, off, rr.address);
      return off + 16;
    case QTYPE.CNAME:
    case QTYPE.PTR:
    case QTYPE.NS:
      return names.write(buf, off, rr.target, limit);
    case QTYPE.SRV:
      if (off + 6 > limit) return -1;
      buf.writeUInt16BE(rr.priority, off);
      buf.writeUInt16BE(rr.weight, off + 2);
      buf.writeUInt16BE(rr.port, off + 4);
      // RFC 2782: the SRV target is not compressed.
      return writePlainName(buf, off + 6, rr.target, limit);
    case QTYPE.TXT: {
      for (const text of rr.texts) {
        const len = Buffer.byteLength(text);
        if (len > 255 || off + 1 + len > limit) return -1;
        buf[off] = len;
        buf.write(text, off + 1);
        off += 1 + len;
      }
      return off;
    }
    case QTYPE.SOA: {
      off = names.write(buf, off, rr.mname, limit);
      if (off < 0) return -1;
      off = names.write(buf, off, rr.rname, limit);
      if (off < 0 || off + 20 > limit) return -1;
      for (const v of [rr.serial, rr.refresh, rr.retry, rr.expire, rr.minimum]) {
        buf.writeUInt32BE(v >>> 0, off);
        off += 4;
      }
      return off;
    }
    case 'raw':
      if (off + rr.rdata.length > limit) return -1;
      rr.rdata.copy(buf, off);
      return off + rr.rdata.length;
  }
}

function writePlainName(buf: Buffer, off: number, name: string, limit: number): number {
  return new NameCompressor().write(buf, off, name, limit);
}

function writeIPv4(buf: Buffer, off: number, address: string): void {
  const parts = address.split('.');
  for (let i = 0; i < 4; i++) buf[off + i] = Number(parts[i]);
}

/** ipv6Bytes expands an IPv6 address (with '::' and an optional dotted tail) into 16 bytes. */
export function ipv6Bytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  writeIPv6(out, 0, address);
  return out;
}

function writeIPv6(buf: Buffer, off: number, address: string): void {
  const groups = ipv6Groups(address);
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i] ?? 0, off + i * 2);
}
