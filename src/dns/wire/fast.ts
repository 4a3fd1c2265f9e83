import { CLASSIC_UDP_SIZE, HEADER_SIZE, MAX_UDP_SIZE, QCLASS_IN, QTYPE } from './constants.ts';

/**
 * FastQuestion is what the hot path reads of a query: the question's end,
 * its type, and the EDNS payload size (-1 without OPT) and DO bit.
 * `key` is the question (name bytes as sent + type) as a string: answers
 * keep the query's spelling of the zone (CoreDNS), so each spelling is its
 * own cached response.
 */
export interface FastQuestion {
  questionEnd: number;
  qtype: number;
  ednsSize: number;
  dnssecOk: boolean;
  key: string;
}

/**
 * scanQuery reads a plain query without allocating more than its key: one
 * IN-class question with an uncompressed name, no answer/authority records
 * and at most an EDNS0 OPT with nothing after it. Anything else (and
 * anything malformed) returns undefined and takes the full parser.
 */
export function scanQuery(buf: Buffer): FastQuestion | undefined {
  const len = buf.length;
  if (len < HEADER_SIZE + 5) return undefined;
  // QR=0, opcode=0; QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT<=1.
  if ((buf[2]! & 0xf8) !== 0 || buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0) return undefined;
  const arcount = buf[11]!;
  if (arcount > 1) return undefined;
  let off = HEADER_SIZE;
  let l = buf[off]!;
  while (l !== 0) {
    if (l > 63) return undefined;
    off += l + 1;
    if (off >= len) return undefined;
    l = buf[off]!;
  }
  off++;
  if (off - HEADER_SIZE > 255 || off + 4 > len) return undefined;
  const qtype = (buf[off]! << 8) | buf[off + 1]!;
  if (buf[off + 2] !== 0 || buf[off + 3] !== QCLASS_IN) return undefined;
  const questionEnd = off + 4;
  let ednsSize = -1;
  let dnssecOk = false;
  if (arcount === 1) {
    // Root owner, TYPE OPT, CLASS size, TTL ext-rcode 0 / version 0 / flags, RDLENGTH, options.
    if (questionEnd + 11 > len || buf[questionEnd] !== 0 || ((buf[questionEnd + 1]! << 8) | buf[questionEnd + 2]!) !== QTYPE.OPT) return undefined;
    if (buf[questionEnd + 5] !== 0 || buf[questionEnd + 6] !== 0) return undefined;
    const rdlength = (buf[questionEnd + 9]! << 8) | buf[questionEnd + 10]!;
    if (questionEnd + 11 + rdlength !== len) return undefined;
    ednsSize = (buf[questionEnd + 3]! << 8) | buf[questionEnd + 4]!;
    dnssecOk = (buf[questionEnd + 7]! & 0x80) !== 0;
  } else if (questionEnd !== len) return undefined;
  return { questionEnd, qtype, ednsSize, dnssecOk, key: buf.toString('latin1', HEADER_SIZE, off + 2) };
}

/**
 * patchResponse copies a cached response for this query: the query's ID,
 * its RD and CD bits. The name is the cached one's byte for byte (the key holds it).
 */
export function patchResponse(cached: Buffer, query: Buffer, questionEnd: number): Buffer {
  const out = Buffer.allocUnsafe(cached.length);
  cached.copy(out);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (out[2]! & 0xfe) | (query[2]! & 0x01);
  out[3] = (out[3]! & 0xef) | (query[3]! & 0x10);
  query.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd - 4);
  return out;
}

/**
 * sizeClass names how large an answer may be, the second half of a
 * response cache key: TCP (with or without OPT), UDP without OPT (512), or
 * UDP with the advertised size clamped to [512, 4096] and the DO bit.
 */
export function sizeClass(proto: 'udp' | 'tcp', ednsSize: number, dnssecOk: boolean): string {
  if (proto === 'tcp') return ednsSize < 0 ? '|t' : dnssecOk ? '|te+' : '|te';
  if (ednsSize < 0) return '|u';
  return `|e${Math.min(Math.max(ednsSize, CLASSIC_UDP_SIZE), MAX_UDP_SIZE)}${dnssecOk ? '+' : ''}`;
}
