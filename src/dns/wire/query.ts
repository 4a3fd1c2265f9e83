import { WireFormatError } from '../errors.ts';
import { HEADER_SIZE, QTYPE } from './constants.ts';
import { readName } from './name.ts';

/** Edns is the OPT pseudo-record of a query (RFC 6891). */
export interface Edns {
  /** Advertised UDP payload size, as sent (not clamped). */
  udpSize: number;
  version: number;
  /** DNSSEC OK bit. */
  dnssecOk: boolean;
}

/**
 * Query is a parsed DNS question. `qname` keeps the sender's case (the
 * answer echoes it); `name` is the lower-cased, dot-joined form without the
 * trailing dot, used for lookups ('' is the root).
 */
export interface Query {
  id: number;
  /** Raw flags word of the query (RD and CD are echoed). */
  flags: number;
  opcode: number;
  qname: string;
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question (name, type, class). */
  questionEnd: number;
  edns: Edns | undefined;
}

/**
 * parseQuery reads a query's header, its single question and an optional
 * OPT record. It throws WireFormatError (with the ID when readable) for
 * anything a server must answer FORMERR to: a response bit, no or several
 * questions, answer/authority records, a bad name, or a malformed OPT.
 */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < HEADER_SIZE) throw new WireFormatError('message shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) throw new WireFormatError('QR set in a query', id);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  if (qdcount !== 1) throw new WireFormatError(`expected one question, got ${qdcount}`, id);
  if (ancount !== 0 || nscount !== 0) throw new WireFormatError('query carries answer or authority records', id);
  let name;
  try {
    name = readName(buf, HEADER_SIZE);
  } catch (error) {
    throw new WireFormatError((error as Error).message, id);
  }
  let off = name.end;
  if (off + 4 > buf.length) throw new WireFormatError('question truncated', id);
  const qtype = buf.readUInt16BE(off);
  const qclass = buf.readUInt16BE(off + 2);
  off += 4;
  const questionEnd = off;
  let edns: Edns | undefined;
  for (let i = 0; i < arcount; i++) {
    const rr = readAdditional(buf, off, id);
    off = rr.end;
    if (rr.type !== QTYPE.OPT) continue; // e.g. TSIG/SIG(0): ignored, we do not sign
    if (edns) throw new WireFormatError('more than one OPT record', id);
    if (!rr.rootOwner) throw new WireFormatError('OPT owner is not the root', id);
    edns = { udpSize: rr.klass, version: (rr.ttl >>> 16) & 0xff, dnssecOk: (rr.ttl & 0x8000) !== 0 };
  }
  return { id, flags, opcode: (flags >> 11) & 0xf, qname: name.text, name: name.text.toLowerCase(), qtype, qclass, questionEnd, edns };
}

function readAdditional(buf: Buffer, off: number, id: number): { type: number; klass: number; ttl: number; end: number; rootOwner: boolean } {
  let owner;
  try {
    owner = readName(buf, off);
  } catch (error) {
    throw new WireFormatError((error as Error).message, id);
  }
  const p = owner.end;
  if (p + 10 > buf.length) throw new WireFormatError('additional record truncated', id);
  const rdlength = buf.readUInt16BE(p + 8);
  if (p + 10 + rdlength > buf.length) throw new WireFormatError('additional record data truncated', id);
  return { type: buf.readUInt16BE(p), klass: buf.readUInt16BE(p + 2), ttl: buf.readUInt32BE(p + 4), end: p + 10 + rdlength, rootOwner: owner.text === '' };
}
