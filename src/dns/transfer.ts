import { address, apexNS, replyTo, soaRecord, type AnswerContext } from './answer.ts';
import type { Client } from './handler.ts';
import { ipFamily } from './lookup.ts';
import type { DnsServiceImport, MultiClusterView } from './multicluster.ts';
import type { DnsEndpoint, DnsService } from './object.ts';
import { endpointName, inZone } from './parse.ts';
import { HEADER_SIZE, MAX_TCP_SIZE, QTYPE, RCODE } from './wire/constants.ts';
import { encodeMessage, type ResourceRecord } from './wire/message.ts';
import { readName } from './wire/name.ts';
import { parseQuery, type Query } from './wire/query.ts';

/** TransferConfig is the Corefile's `transfer [ZONES] { to * | to ADDR... }`. */
export interface TransferConfig {
  /** Zones transfers are served for (lower case, trailing dot); the server block's by default. */
  readonly zones: readonly string[];
  /** `*`, or the client addresses allowed. */
  readonly to: readonly string[];
}

/**
 * CoreDNS's transfer plugin flushes a message before its records pass 63,000
 * bytes (uncompressed, as dns.Len counts them), leaving room for the header
 * and question within the 64 KB a TCP message holds.
 */
export const TRANSFER_CHUNK_BYTES = 63_000;

/**
 * ZoneTransfer answers AXFR, and IXFR by falling back to AXFR unless the
 * client's serial is current, for the cluster zones (and multicluster
 * zones) over TCP, as CoreDNS's
 * `transfer` plugin with the kubernetes plugin as its source
 * (plugin/transfer/transfer.go, plugin/kubernetes/xfr.go). The records come
 * from a generator and are cut into messages of at most
 * TRANSFER_CHUNK_BYTES, so a large zone is never built whole: the TCP server
 * writes one message at a time and waits for the client to read it.
 */
export class ZoneTransfer {
  readonly #config: TransferConfig;
  readonly #ctx: AnswerContext;
  readonly #multicluster: readonly string[];
  readonly #otherZones: readonly string[];

  /**
   * `multiclusterZones` (no trailing dot) are transferred from ServiceImports, as CoreDNS's
   * transferMultiClusterServices; `otherZones`, the plugin's further cluster zones, as the cluster zone.
   */
  constructor(config: TransferConfig, ctx: AnswerContext, multiclusterZones: readonly string[] = [], otherZones: readonly string[] = []) {
    this.#config = config;
    this.#ctx = ctx;
    this.#multicluster = multiclusterZones;
    this.#otherZones = otherZones;
  }

  /**
   * messages answers `packet` when it is a transfer of a zone this server
   * transfers: the response messages, in order. Undefined for any other
   * query (and for a zone it is not authoritative for): the handler answers
   * it, REFUSED for a transfer.
   */
  messages(packet: Buffer, client: Client): Iterable<Buffer> | undefined {
    const xfr = readTransferQuery(packet);
    if (!xfr) return undefined;
    const { q, serial } = xfr;
    if (!covers(this.#config, q.name)) return undefined;
    const reply = (rcode: number, answer: ResourceRecord[] = []) => transferReply(q, rcode, answer);
    if (!allowed(this.#config.to, client.address)) return reply(RCODE.REFUSED);
    if (serial === null) return reply(RCODE.SERVFAIL);
    // Authoritative for the plugin's zones themselves, not for names below them.
    const multicluster = this.#multicluster.includes(q.name);
    if (q.name !== this.#ctx.zone && !multicluster && !this.#otherZones.includes(q.name)) return undefined;
    const ctx: AnswerContext = { ...this.#ctx, zone: q.name, multicluster };
    // Before the informers sync the zone is incomplete: nothing to transfer yet.
    const controller = ctx.controller;
    if (!controller.hasSynced() || (multicluster && controller.multicluster?.hasSynced() !== true)) return reply(RCODE.SERVFAIL);
    const soa = soaRecord(ctx.zone, ctx);
    if (serial !== 0 && soa.type === QTYPE.SOA && soa.serial === serial) return reply(RCODE.NOERROR, [soa]);
    return chunked(q, zoneRecords(ctx, soa));
  }
}

/** covers: the `transfer` plugin's zones hold `name` (lower case, no trailing dot). */
export function covers(config: TransferConfig, name: string): boolean {
  return config.zones.some((z) => z === '.' || inZone(name, z.slice(0, -1)));
}

/** transferReply is a transfer's one-message answer: `rcode`, with `answer` (the SOA alone for a current IXFR). */
export function transferReply(q: Query, rcode: number, answer: ResourceRecord[] = []): Buffer[] {
  return [encodeMessage({ ...replyTo(q, rcode), answer }, MAX_TCP_SIZE)];
}

/** byName orders Services (and ServiceImports) by name, then namespace, as CoreDNS's transfers list them. */
export function byName<T extends { name: string; namespace: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

/** allowed: `to *`, or the client's address among those listed (an IPv4-mapped address counts as IPv4). */
export function allowed(to: readonly string[], address: string): boolean {
  const ip = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return to.some((t) => t === '*' || t === ip);
}

/**
 * readTransferQuery reads an AXFR or IXFR query; `serial` is 0 for AXFR, the
 * serial of the IXFR's authority SOA, or null when an IXFR does not carry
 * exactly one SOA (CoreDNS answers that SERVFAIL). Undefined for any other query.
 */
export function readTransferQuery(packet: Buffer): { q: Query; serial: number | null } | undefined {
  // Asked of every TCP query: the others are ruled out by their type alone, without building the name.
  const plainType = plainQuestionType(packet);
  if (plainType !== undefined && plainType !== QTYPE.AXFR && plainType !== QTYPE.IXFR) return undefined;
  let questionEnd: number;
  let qtype: number;
  try {
    questionEnd = readName(packet, HEADER_SIZE).end + 4;
    if (questionEnd > packet.length) return undefined;
    qtype = packet.readUInt16BE(questionEnd - 4);
  } catch {
    return undefined;
  }
  if (qtype !== QTYPE.AXFR && qtype !== QTYPE.IXFR) return undefined;
  const nscount = packet.readUInt16BE(8);
  let serial: number | null = 0;
  let rest = questionEnd;
  try {
    if (qtype === QTYPE.IXFR) {
      serial = null;
      if (nscount === 1) {
        const owner = readName(packet, questionEnd);
        const type = packet.readUInt16BE(owner.end);
        const rdEnd = owner.end + 10 + packet.readUInt16BE(owner.end + 8);
        if (type === QTYPE.SOA) serial = packet.readUInt32BE(readName(packet, readName(packet, owner.end + 10).end).end);
        rest = rdEnd;
      }
    }
    // Without its authority section the query is one the ordinary parser reads (question, OPT).
    const plain = Buffer.concat([packet.subarray(0, questionEnd), packet.subarray(rest)]);
    plain.writeUInt16BE(0, 8);
    return { q: parseQuery(plain), serial };
  } catch {
    return undefined;
  }
}

/** plainQuestionType is the question's type past a name of plain labels; undefined for a compressed or malformed name, or a short packet. */
function plainQuestionType(packet: Buffer): number | undefined {
  let off = HEADER_SIZE;
  for (;;) {
    if (off >= packet.length) return undefined;
    const len = packet[off]!;
    if (len === 0) break;
    if (len > 63) return undefined;
    off += len + 1;
  }
  return off + 3 <= packet.length ? packet.readUInt16BE(off + 1) : undefined;
}

/** chunked cuts the records into response messages of at most TRANSFER_CHUNK_BYTES of records each. */
export function* chunked(q: Query, records: Iterable<ResourceRecord>): Generator<Buffer> {
  let batch: ResourceRecord[] = [];
  let size = 0;
  for (const rr of records) {
    const len = recordLength(rr);
    if (batch.length > 0 && size + len > TRANSFER_CHUNK_BYTES) {
      yield encodeMessage({ ...replyTo(q, RCODE.NOERROR), answer: batch }, MAX_TCP_SIZE);
      batch = [];
      size = 0;
    }
    batch.push(rr);
    size += len;
  }
  if (batch.length > 0) yield encodeMessage({ ...replyTo(q, RCODE.NOERROR), answer: batch }, MAX_TCP_SIZE);
}

/** recordLength is a record's uncompressed wire length (miekg/dns Len): compression only makes it shorter. */
export function recordLength(rr: ResourceRecord): number {
  const name = (n: string) => (n === '' ? 1 : Buffer.byteLength(n, 'latin1') + 2);
  const fixed = name(rr.name) + 10;
  switch (rr.type) {
    case QTYPE.A:
      return fixed + 4;
    case QTYPE.AAAA:
      return fixed + 16;
    case QTYPE.CNAME:
    case QTYPE.PTR:
    case QTYPE.NS:
      return fixed + name(rr.target);
    case QTYPE.SRV:
      return fixed + 6 + name(rr.target);
    case QTYPE.TXT:
      return fixed + rr.texts.reduce((n, t) => n + 1 + Buffer.byteLength(t), 0);
    case QTYPE.SOA:
      return fixed + name(rr.mname) + name(rr.rname) + 20;
    case 'raw':
      return fixed + rr.rdata.length;
  }
}

/**
 * zoneRecords lists the zone as CoreDNS's kubernetes Transfer does: the SOA,
 * the apex NS and its glue, then each Service of an exposed namespace in
 * order of name (then namespace), then the SOA again.
 */
export function* zoneRecords(ctx: AnswerContext, soa: ResourceRecord): Generator<ResourceRecord> {
  yield soa;
  const { ns, glue } = apexNS(ctx.zone, ctx);
  yield* ns;
  yield* glue;
  const view = ctx.controller.multicluster;
  if (ctx.multicluster && view) {
    for (const si of [...view.serviceImports()].sort(byName)) if (ctx.controller.hasNamespace(si.namespace)) yield* importRecords(si, view, ctx);
  } else {
    for (const svc of [...ctx.controller.services()].sort(byName)) if (ctx.controller.hasNamespace(svc.namespace)) yield* serviceRecords(svc, ctx);
  }
  yield soa;
}

/**
 * importRecords lists a ServiceImport's records as CoreDNS's
 * transferMultiClusterServices: a ClusterSetIP import as a Service with
 * those IPs; a headless one (or one without IPs) by its ready endpoints,
 * named under the service without their cluster (as upstream's transfer
 * names them).
 */
function importRecords(si: DnsServiceImport, view: MultiClusterView, ctx: AnswerContext): ResourceRecord[] {
  const clusterSetIP = !si.headless && si.ips.length > 0;
  const svc: DnsService = {
    namespace: si.namespace, name: si.name, kind: clusterSetIP ? 'ClusterIP' : 'Headless', clusterIPs: clusterSetIP ? si.ips : [], externalName: '', ports: si.ports, publishNotReady: false,
  };
  return clusterSetIP ? serviceRecords(svc, ctx) : endpointRecords(svc, view.endpoints(si.namespace, si.name), ctx);
}

/** names gives a Service's name in the zone and its `_port._proto` SRV names. */
function names(svc: DnsService, zone: string): { svcName: string; portName: (name: string, protocol: string) => string } {
  const svcName = `${svc.name}.${svc.namespace}.svc.${zone}`;
  return { svcName, portName: (name, protocol) => `_${name.toLowerCase()}._${protocol.toLowerCase()}.${svcName}` };
}

function serviceRecords(svc: DnsService, ctx: AnswerContext): ResourceRecord[] {
  const { ttl } = ctx;
  const { svcName, portName } = names(svc, ctx.zone);
  const out: ResourceRecord[] = [];
  if (svc.kind === 'ExternalName') {
    // A CNAME only when the external name is a name (CoreDNS HostType), not an address.
    if (svc.externalName !== '' && ipFamily(svc.externalName) === 0) out.push({ name: svcName, ttl, type: QTYPE.CNAME, target: svc.externalName });
    return out;
  }
  if (svc.kind === 'ClusterIP') {
    for (const ip of svc.clusterIPs) out.push(address(svcName, ip, ttl));
    for (const p of svc.ports) {
      // The SRV without port labels is there for peer-finder (coredns#823); unnamed ports have no other.
      out.push({ name: svcName, ttl, type: QTYPE.SRV, priority: 0, weight: 100, port: p.port, target: svcName });
      if (p.name !== '') out.push({ name: portName(p.name, p.protocol), ttl, type: QTYPE.SRV, priority: 0, weight: 100, port: p.port, target: svcName });
    }
    return out;
  }
  return endpointRecords(svc, ctx.controller.endpoints(svc.namespace, svc.name), ctx);
}

/** endpointRecords lists a headless Service's ready endpoints: its name and the endpoint's for each address, an SRV per named port. */
function endpointRecords(svc: DnsService, endpoints: readonly DnsEndpoint[], ctx: AnswerContext): ResourceRecord[] {
  const { ttl } = ctx;
  const { svcName, portName } = names(svc, ctx.zone);
  const out: ResourceRecord[] = [];
  const ready = endpoints.filter((ep) => ep.ready || svc.publishNotReady);
  // 100 shared among the Service's endpoints, as the SRV answers share it (CoreDNS calcSRVWeight, per Endpoints object).
  const weight = Math.max(1, Math.floor(100 / Math.max(1, ready.length)));
  for (const ep of ready) {
    const target = `${endpointName(ep.ip, ep.hostname)}.${svcName}`;
    out.push(address(svcName, ep.ip, ttl), address(target, ep.ip, ttl));
    for (const p of ep.ports) if (p.name !== '') out.push({ name: portName(p.name, p.protocol), ttl, type: QTYPE.SRV, priority: 0, weight, port: p.port, target });
  }
  return out;
}
