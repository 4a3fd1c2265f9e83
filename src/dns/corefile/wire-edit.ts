import { HEADER_SIZE, QTYPE } from '../wire/constants.ts';
import { encodeMessage, type Message, type ResourceRecord } from '../wire/message.ts';
import { NameCompressor, readName } from '../wire/name.ts';

/**
 * Wire edits the Corefile plugins need around the handler: `rewrite`
 * changes the question of a query and restores names in the response,
 * `loadbalance` shuffles address records. Responses are decoded whole into
 * a Message (names decompressed) and encoded again, so no compression
 * pointer is left pointing at moved bytes.
 */

/** withQuestionName returns a copy of a query whose question name is `name` (header, type, class and OPT kept). */
export function withQuestionName(query: Buffer, questionEnd: number, name: string): Buffer {
  const scratch = Buffer.alloc(HEADER_SIZE + 256 + 4);
  const nameEnd = new NameCompressor().write(scratch, HEADER_SIZE, name, scratch.length - 4);
  if (nameEnd < 0) throw new RangeError(`name too long: ${name}`);
  query.copy(scratch, 0, 0, HEADER_SIZE);
  const typeClass = query.subarray(questionEnd - 4);
  return Buffer.concat([scratch.subarray(0, nameEnd), typeClass]);
}

function plainName(name: string): Buffer {
  const buf = Buffer.alloc(256);
  const end = new NameCompressor().write(buf, 0, name, buf.length);
  return buf.subarray(0, end);
}

function decodeRecord(buf: Buffer, off: number): { rr: ResourceRecord | 'opt'; end: number; opt?: { udpSize: number; ttl: number } } {
  const owner = readName(buf, off);
  off = owner.end;
  const type = buf.readUInt16BE(off);
  const klass = buf.readUInt16BE(off + 2);
  const ttl = buf.readUInt32BE(off + 4);
  const len = buf.readUInt16BE(off + 8);
  const rd = off + 10;
  const end = rd + len;
  if (end > buf.length) throw new Error('record runs past the end of the message');
  const base = { name: owner.text, ttl };
  const raw = (rdata: Buffer): ResourceRecord => ({ ...base, type: 'raw', rrtype: type, rdata });
  switch (type) {
    case QTYPE.OPT:
      return { rr: 'opt', end, opt: { udpSize: klass, ttl } };
    case QTYPE.CNAME:
    case QTYPE.PTR:
    case QTYPE.NS:
      return { rr: { ...base, type, target: readName(buf, rd).text }, end };
    case QTYPE.SRV:
      return { rr: { ...base, type, priority: buf.readUInt16BE(rd), weight: buf.readUInt16BE(rd + 2), port: buf.readUInt16BE(rd + 4), target: readName(buf, rd + 6).text }, end };
    case QTYPE.MX:
      return { rr: raw(Buffer.concat([buf.subarray(rd, rd + 2), plainName(readName(buf, rd + 2).text)])), end };
    case QTYPE.SOA: {
      const mname = readName(buf, rd);
      const rname = readName(buf, mname.end);
      const n = (i: number) => buf.readUInt32BE(rname.end + 4 * i);
      return { rr: { ...base, type, mname: mname.text, rname: rname.text, serial: n(0), refresh: n(1), retry: n(2), expire: n(3), minimum: n(4) }, end };
    }
    default:
      // A, AAAA, TXT and others hold no compressed names.
      return { rr: raw(Buffer.from(buf.subarray(rd, end))), end };
  }
}

/** decodeMessage reads a whole response into a Message. Throws a plain Error on malformed input. */
export function decodeMessage(buf: Buffer): Message {
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let off = HEADER_SIZE;
  let question: Message['question'];
  if (buf.readUInt16BE(4) > 0) {
    const q = readName(buf, off);
    question = { qname: q.text, qtype: buf.readUInt16BE(q.end), qclass: buf.readUInt16BE(q.end + 2) };
    off = q.end + 4;
  }
  const msg: Message = { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), question, answer: [], authority: [], additional: [], edns: undefined };
  const sections = [msg.answer, msg.authority, msg.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const r = decodeRecord(buf, off);
      off = r.end;
      if (r.rr === 'opt') msg.edns = { udpSize: r.opt!.udpSize, extendedRcode: r.opt!.ttl >>> 24, dnssecOk: (r.opt!.ttl & 0x8000) !== 0 };
      else sections[s]!.push(r.rr);
    }
  }
  return msg;
}

/** renameResponse decodes a response, maps every owner and target name, and encodes it again within `limit`. */
export function renameResponse(response: Buffer, limit: number, rename: (name: string) => string): Buffer {
  const msg = decodeMessage(response);
  if (msg.question) msg.question = { ...msg.question, qname: rename(msg.question.qname) };
  for (const section of [msg.answer, msg.authority, msg.additional]) {
    for (let i = 0; i < section.length; i++) {
      const rr = section[i]!;
      section[i] = 'target' in rr ? { ...rr, name: rename(rr.name), target: rename(rr.target) } : { ...rr, name: rename(rr.name) };
    }
  }
  return encodeMessage(msg, limit);
}

/**
 * addressSlots finds the answer section's A/AAAA records whose owner is a
 * compression pointer, as byte ranges, when they all have one length: such
 * records can swap places byte for byte, since nothing points into them and
 * no offset after them moves. Undefined when the answer is not of that form.
 */
function addressSlots(buf: Buffer): number[] | undefined {
  const count = buf.readUInt16BE(6);
  let off = HEADER_SIZE;
  if (buf.readUInt16BE(4) > 0) off = readName(buf, off).end + 4;
  const slots: number[] = [];
  let size = -1;
  for (let i = 0; i < count; i++) {
    const pointer = (buf[off]! & 0xc0) === 0xc0;
    const nameEnd = pointer ? off + 2 : readName(buf, off).end;
    if (nameEnd + 10 > buf.length) return undefined;
    const type = buf.readUInt16BE(nameEnd);
    const end = nameEnd + 10 + buf.readUInt16BE(nameEnd + 8);
    if (pointer && (type === QTYPE.A || type === QTYPE.AAAA)) {
      if (size !== -1 && end - off !== size) return undefined;
      size = end - off;
      slots.push(off);
    }
    off = end;
  }
  return slots.length >= 2 ? [size, ...slots] : undefined;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * shuffleAddresses is `loadbalance round_robin`: the A and AAAA records of
 * the answer section change places at random (CNAMEs and others keep
 * theirs), as CoreDNS's loadbalance does. The usual answer (address records
 * of one size owned by compression pointers) is permuted in place on a
 * copy; any other is decoded and encoded again. A response with fewer than
 * two address records comes back as it is.
 */
export function shuffleAddresses(response: Buffer, limit: number): Buffer {
  if (response.length < HEADER_SIZE || response.readUInt16BE(6) < 2) return response;
  const fast = addressSlots(response);
  if (fast) {
    const [size, ...slots] = fast as [number, ...number[]];
    const out = Buffer.from(response);
    shuffle(slots.map((at) => response.subarray(at, at + size))).forEach((record, k) => record.copy(out, slots[k]));
    return out;
  }
  const msg = decodeMessage(response);
  const isAddress = (rr: ResourceRecord) => rr.type === 'raw' && (rr.rrtype === QTYPE.A || rr.rrtype === QTYPE.AAAA);
  const slots = msg.answer.flatMap((rr, i) => (isAddress(rr) ? [i] : []));
  if (slots.length < 2) return response;
  const records = shuffle(slots.map((i) => msg.answer[i]!));
  slots.forEach((slot, k) => (msg.answer[slot] = records[k]!));
  msg.flags = response.readUInt16BE(2);
  return encodeMessage(msg, limit);
}
