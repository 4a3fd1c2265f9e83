import type { Metadata } from './metadata.ts';
import { parseResponse } from './wire/response.ts';
import { RCODE_NAMES, TYPE_NAMES } from './wire/constants.ts';
import type { Query } from './wire/query.ts';

/**
 * The `log` plugin's line format, as CoreDNS's replacer
 * (plugin/pkg/replacer, plugin/log): `{type}`-style request and response
 * placeholders, `{>id}`-style header ones, `{/label}` metadata labels
 * (`-` when unset) and everything else kept as written.
 */

/** COMMON_LOG_FORMAT is CoreDNS's default `log` line. */
export const COMMON_LOG_FORMAT = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';
export const COMBINED_LOG_FORMAT = `${COMMON_LOG_FORMAT} "{>opcode}"`;

const EMPTY = '-';
const LABELS = new Set(['{type}', '{name}', '{class}', '{proto}', '{size}', '{remote}', '{port}', '{local}', '{>id}', '{>opcode}', '{>do}', '{>bufsize}', '{rcode}', '{rsize}', '{duration}', '{>rflags}']);

export type FormatNode = { readonly kind: 'literal' | 'label' | 'metadata'; readonly value: string };

/**
 * parseLogFormat splits a format as the replacer does: each `}` closes the
 * nearest `{` before it; a known placeholder or a `{/label}` becomes a node,
 * anything else stays literal text.
 */
export function parseLogFormat(s: string): FormatNode[] {
  const out: FormatNode[] = [];
  const literal = (value: string) => {
    const last = out[out.length - 1];
    if (last?.kind === 'literal') out[out.length - 1] = { kind: 'literal', value: last.value + value };
    else if (value !== '') out.push({ kind: 'literal', value });
  };
  for (;;) {
    const j = s.indexOf('}');
    if (j < 0) break;
    const i = s.lastIndexOf('{', j);
    const token = i < 0 ? '' : s.slice(i, j + 1);
    if (LABELS.has(token) || token.startsWith('{/')) {
      literal(s.slice(0, i));
      out.push(LABELS.has(token) ? { kind: 'label', value: token } : { kind: 'metadata', value: token.slice(2, -1) });
    } else literal(s.slice(0, j + 1));
    s = s.slice(j + 1);
  }
  literal(s);
  return out;
}

/** usesMetadata says whether a format reads any metadata label. */
export function usesMetadata(format: readonly FormatNode[]): boolean {
  return format.some((n) => n.kind === 'metadata');
}

/** LogEntry is one answered query, as the placeholders read it. */
export interface LogEntry {
  readonly query: Query;
  readonly querySize: number;
  readonly proto: 'udp' | 'tcp';
  readonly remote: string;
  readonly port: number | undefined;
  readonly local: string | undefined;
  /** The response; undefined when none was sent. */
  readonly response: Buffer | undefined;
  readonly durationMs: number;
  readonly metadata: Metadata | undefined;
}

/** formatLogLine fills a parsed format in for one query. */
export function formatLogLine(format: readonly FormatNode[], e: LogEntry): string {
  let line = '';
  for (const n of format) {
    if (n.kind === 'literal') line += n.value;
    else if (n.kind === 'metadata') line += e.metadata?.get(n.value) ?? EMPTY;
    else line += labelValue(n.value, e);
  }
  return line;
}

function labelValue(label: string, e: LogEntry): string {
  const q = e.query;
  const r = e.response;
  switch (label) {
    case '{type}': return typeText(q.qtype);
    case '{name}': return `${q.name}.`;
    case '{class}': return classText(q.qclass);
    case '{proto}': return e.proto;
    case '{size}': return String(e.querySize);
    case '{remote}': return bracketed(e.remote);
    case '{port}': return e.port === undefined ? EMPTY : String(e.port);
    case '{local}': return e.local === undefined ? EMPTY : bracketed(e.local);
    case '{>id}': return String(q.id);
    case '{>opcode}': return String(q.opcode);
    case '{>do}': return String(q.edns?.dnssecOk ?? false);
    // CoreDNS's request.Size: 65535 over TCP, else the EDNS0 size but at least 512.
    case '{>bufsize}': return String(e.proto === 'tcp' ? 65535 : Math.max(512, q.edns?.udpSize ?? 0));
    case '{rcode}': return r && r.length >= 4 ? RCODE_NAMES[r[3]! & 0xf] ?? String(r[3]! & 0xf) : EMPTY;
    case '{rsize}': return String(r?.length ?? 0);
    case '{>rflags}': return r && r.length >= 4 ? flagsText(r.readUInt16BE(2)) : EMPTY;
    case '{duration}': return `${seconds(e.durationMs)}s`;
    default: return EMPTY;
  }
}

/** seconds prints a duration as Go's strconv.FormatFloat(secs, 'f', -1): shortest digits, never an exponent. */
function seconds(ms: number): string {
  const s = ms / 1000;
  const text = String(s);
  return text.includes('e') ? s.toFixed(9).replace(/0+$/, '').replace(/\.$/, '') : text;
}

const MORE_TYPES: Record<number, string> = { 13: 'HINFO', 35: 'NAPTR', 43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 257: 'CAA' };

/** typeText and classText name a type and class as miekg/dns prints them (`TYPE65534`, `CLASS3` for unnamed ones). */
function typeText(qtype: number): string {
  return TYPE_NAMES[qtype] ?? MORE_TYPES[qtype] ?? `TYPE${qtype}`;
}

const CLASS_NAMES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY' };

function classText(qclass: number): string {
  return CLASS_NAMES[qclass] ?? `CLASS${qclass}`;
}

const FLAG_NAMES: ReadonlyArray<[number, string]> = [[0x8000, 'qr'], [0x0400, 'aa'], [0x0200, 'tc'], [0x0100, 'rd'], [0x0080, 'ra'], [0x0040, 'z'], [0x0020, 'ad'], [0x0010, 'cd']];

/** flagsText lists the set header flags as CoreDNS's {>rflags}: `qr,aa,tc,rd,ra,z,ad,cd`. */
function flagsText(flags: number): string {
  return FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name).join(',');
}

function bracketed(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export type ResponseClass = 'success' | 'denial' | 'error';

/**
 * responseType is CoreDNS's response.Typify for `{/log/type}` and `class`
 * filters: NOERROR, NXDOMAIN, NODATA (NOERROR with an SOA in authority),
 * SERVERERROR, DELEGATION, META (transfers), OTHERERROR.
 */
export function responseType(query: Query, response: Buffer | undefined): string {
  if (!response) return 'OTHERERROR';
  let parsed;
  try {
    parsed = parseResponse(response);
  } catch {
    return 'OTHERERROR';
  }
  if (query.opcode === 5) return 'UPDATE';
  if (query.opcode === 4 || query.qtype === 252 || query.qtype === 251) return 'META';
  const { rcode, answer, authority } = parsed;
  if (answer.length > 0 && rcode === 0) return 'NOERROR';
  if (answer.length > 0 && rcode === 3) return 'OTHERERROR';
  const soa = authority.some((r) => r.type === 6);
  if (soa && rcode === 0) return 'NODATA';
  if (rcode === 3) return 'NXDOMAIN';
  if (rcode === 2 || rcode === 4) return 'SERVERERROR';
  if (rcode === 0 && authority.some((r) => r.type === 2)) return 'DELEGATION';
  return rcode === 0 ? 'NOERROR' : 'OTHERERROR';
}

/** responseClass is CoreDNS's response.Classify of a type. */
export function responseClass(type: string): ResponseClass {
  if (type === 'NOERROR' || type === 'DELEGATION') return 'success';
  if (type === 'NXDOMAIN' || type === 'NODATA') return 'denial';
  return 'error';
}
