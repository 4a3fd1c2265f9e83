/**
 * Shared DNS test helpers (CoreDNS plugin/test style): a DnsCase table type,
 * a query builder, and a decoder that turns a response into zone-file-like
 * lines so expectations read as records. Responses are decoded with dns2's
 * codec, not ours, so the tests check our encoder against another one.
 *
 * Record lines are `name.<TAB>ttl<TAB>IN<TAB>TYPE<TAB>rdata`; SOA rdata
 * leaves out the serial (it is the time of the last change).
 */
import type { ExecutionContext } from 'ava';
import dns2 from 'dns2';

const { Packet } = dns2;

export const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, AXFR: 252, IXFR: 251, ANY: 255 };
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** DnsCase is one row of a DNS table test; `answer`/`ns`/`extra` undefined means "not checked", [] means empty. */
export interface DnsCase {
  name?: string;
  qname: string;
  qtype: string;
  rcode: string;
  answer?: string[];
  ns?: string[];
  extra?: string[];
  /** Expected TC bit (unchecked when undefined). */
  tc?: boolean;
}

export interface QueryOptions {
  id?: number;
  /** EDNS0 payload size; no OPT record when undefined. */
  edns?: number;
  rd?: boolean;
}

/** buildQuery writes a query by hand (one question, optional OPT). */
export function buildQuery(qname: string, qtype: string | number, o: QueryOptions = {}): Buffer {
  const labels = qname.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const nameLen = labels.reduce((n, l) => n + 1 + l.length, 0) + 1;
  const buf = Buffer.alloc(12 + nameLen + 4 + (o.edns !== undefined ? 11 : 0));
  buf.writeUInt16BE(o.id ?? 0x1234, 0);
  buf.writeUInt16BE(o.rd === false ? 0 : 0x0100, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(o.edns !== undefined ? 1 : 0, 10);
  let off = 12;
  for (const l of labels) {
    buf[off] = l.length;
    buf.write(l, off + 1, 'latin1');
    off += 1 + l.length;
  }
  buf[off++] = 0;
  buf.writeUInt16BE(typeof qtype === 'number' ? qtype : TYPES[qtype]!, off);
  buf.writeUInt16BE(1, off + 2);
  off += 4;
  if (o.edns !== undefined) {
    buf[off] = 0;
    buf.writeUInt16BE(41, off + 1);
    buf.writeUInt16BE(o.edns, off + 3);
  }
  return buf;
}

export interface Decoded {
  id: number;
  rcode: string;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  qname: string;
  answer: string[];
  ns: string[];
  extra: string[];
  /** Advertised UDP size of the response's OPT, if it has one. */
  edns: number | undefined;
}

type Rr = Record<string, unknown> & { name: string; ttl: number; type: number };

function rdata(rr: Rr): string {
  switch (rr.type) {
    case 1:
    case 28:
      return String(rr.address);
    case 5:
    case 12:
      return `${String(rr.domain)}.`;
    case 2:
      return `${String(rr.ns)}.`;
    case 33:
      return `${rr.priority} ${rr.weight} ${rr.port} ${String(rr.target)}.`;
    case 16:
      return (rr.data as string[]).map((d) => JSON.stringify(d)).join(' ');
    case 6:
      return `${String(rr.primary)}. ${String(rr.admin)}. ${rr.refresh} ${rr.retry} ${rr.expiration} ${rr.minimum}`;
    default:
      return '?';
  }
}

/** formatRR prints a decoded record as a zone-file line. */
export function formatRR(rr: Rr): string {
  return `${rr.name}.\t${rr.ttl}\tIN\t${TYPE_NAMES[rr.type] ?? rr.type}\t${rdata(rr)}`;
}

export function decode(buf: Buffer): Decoded {
  const p = Packet.parse(buf) as unknown as {
    header: { id: number; rcode: number; aa: number; tc: number; rd: number };
    questions: Array<{ name: string }>;
    answers: Rr[];
    authorities: Rr[];
    additionals: Rr[];
  };
  const opt = p.additionals.find((r) => r.type === 41);
  return {
    id: p.header.id,
    rcode: RCODES[p.header.rcode] ?? String(p.header.rcode),
    aa: p.header.aa === 1,
    tc: p.header.tc === 1,
    rd: p.header.rd === 1,
    qname: p.questions[0]?.name ?? '',
    answer: p.answers.map(formatRR),
    ns: p.authorities.map(formatRR),
    extra: p.additionals.filter((r) => r.type !== 41).map(formatRR),
    edns: opt ? (opt.class as number) : undefined,
  };
}

const sorted = (lines: string[]) => [...lines].sort();

/** checkCase compares a decoded response against a DnsCase, sections sorted (order is not part of the contract). */
export function checkCase(t: ExecutionContext, got: Decoded, tc: DnsCase): void {
  t.is(got.rcode, tc.rcode, 'rcode');
  if (tc.answer) t.deepEqual(sorted(got.answer), sorted(tc.answer), 'answer');
  if (tc.ns) t.deepEqual(sorted(got.ns), sorted(tc.ns), 'authority');
  if (tc.extra) t.deepEqual(sorted(got.extra), sorted(tc.extra), 'additional');
  if (tc.tc !== undefined) t.is(got.tc, tc.tc, 'TC');
}
