import { HEADER_SIZE } from './constants.ts';
import { readName } from './name.ts';

/** RawRecord is one record of a parsed upstream response; `rdata` is a view into the message. */
export interface RawRecord {
  name: string;
  type: number;
  ttl: number;
  rdataOffset: number;
  rdata: Buffer;
}

export interface ParsedResponse {
  id: number;
  flags: number;
  rcode: number;
  answer: RawRecord[];
  authority: RawRecord[];
  additional: RawRecord[];
}

/**
 * parseResponse reads an upstream response far enough to cache it and to
 * chase CNAMEs: header, questions skipped, then every record of the answer,
 * authority and additional sections.
 * Throws a plain Error on anything malformed.
 */
export function parseResponse(buf: Buffer): ParsedResponse {
  if (buf.length < HEADER_SIZE) throw new Error('response shorter than a header');
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let off = HEADER_SIZE;
  for (let i = 0; i < qd; i++) {
    off = readName(buf, off).end + 4;
    if (off > buf.length) throw new Error('question truncated');
  }
  const read = (count: number): RawRecord[] => {
    const out: RawRecord[] = [];
    for (let i = 0; i < count; i++) {
      const owner = readName(buf, off);
      const p = owner.end;
      if (p + 10 > buf.length) throw new Error('record truncated');
      const rdlength = buf.readUInt16BE(p + 8);
      if (p + 10 + rdlength > buf.length) throw new Error('record data truncated');
      out.push({ name: owner.text, type: buf.readUInt16BE(p), ttl: buf.readUInt32BE(p + 4), rdataOffset: p + 10, rdata: buf.subarray(p + 10, p + 10 + rdlength) });
      off = p + 10 + rdlength;
    }
    return out;
  };
  const answer = read(an);
  const authority = read(ns);
  const additional = read(ar);
  return { id: buf.readUInt16BE(0), flags, rcode: flags & 0xf, answer, authority, additional };
}
