import { answerContext, answerZone, replyTo, responseUdpSize, type AnswerContext } from './answer.ts';
import type { DnsController } from './controller.ts';
import { WireFormatError } from './errors.ts';
import type { Forwarder } from './forward.ts';
import type { ClientAcl } from './acl.ts';
import type { DnsMetrics, Plugin, Proto } from './metrics.ts';
import { inZone } from './parse.ts';
import type { PodMode } from './lookup.ts';
import { CLASSIC_UDP_SIZE, FLAG, MAX_TCP_SIZE, QCLASS_IN, QTYPE, RCODE } from './wire/constants.ts';
import { ResponseArena } from './wire/arena.ts';
import { patchResponse, scanQuery, sizeClass } from './wire/fast.ts';
import { encodeMessage, type Message } from './wire/message.ts';
import { parseQuery, type Query } from './wire/query.ts';
import { readTransferQuery } from './transfer.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns');

export interface HandlerOptions {
  controller: DnsController;
  /** Cluster domain, lower case, no trailing dot. */
  zone: string;
  ttl: number;
  podMode: PodMode;
  /** `kubernetes { zonal }`: `topozone.pin|prefer._zone.<svc>.<ns>.svc.<zone>` names; default off. */
  zonal?: boolean;
  forwarder: Forwarder | undefined;
  acl: ClientAcl;
  metrics: DnsMetrics | undefined;
  /**
   * Reverse zones the server is authoritative for (lower case, no trailing
   * dot); default kubeadm's in-addr.arpa and ip6.arpa.
   */
  reverseZones?: readonly string[];
  /**
   * Zones whose NXDOMAINs go on to the upstream instead (`kubernetes { fallthrough }`,
   * no trailing dot, '.' for all); default kubeadm's in-addr.arpa and ip6.arpa.
   */
  fallthrough?: readonly string[];
  /** More cluster zones, answered as `zone` is (`kubernetes coredns.local test.local`; no trailing dot). */
  otherZones?: readonly string[];
  /** `multicluster` zones (no trailing dot): answered from ServiceImports; may include `zone` itself. */
  multiclusterZones?: readonly string[];
  /** Non-loopback addresses this server answers on, for the apex NS and its glue (ns.ts); default none. */
  localIPs?: readonly string[];
  /** Most prebuilt responses kept; the cache is emptied on every cluster change anyway. */
  cacheSize?: number;
  /** Told about every prebuilt response and every emptying, to mirror the cache (the batched UDP worker). */
  cacheListener?: { set(key: string, response: Buffer): void; clear(): void };
}

/** Client is where a query came from. */
export interface Client {
  proto: Proto;
  address: string;
  family: 4 | 6;
  /** The client's port and the address it asked, where known: for `log`'s {port} and {local}. */
  port?: number;
  local?: string;
}

/**
 * DnsHandler turns one query packet into one response packet (or none:
 * packets too broken to answer are dropped). Cluster answers are kept as
 * prebuilt wire responses keyed by question and answer-size class, so a
 * repeated question costs a scan of the header and question, a map lookup
 * and a copy with the ID and name spelling patched; any cluster change
 * empties that cache. Everything else goes through the parser, the record
 * lookup and the encoder. The handler never throws.
 */
export class DnsHandler {
  readonly #o: HandlerOptions;
  readonly #ctx: AnswerContext;
  readonly #cache = new Map<string, Buffer>();
  readonly #arena = new ResponseArena();
  readonly #cacheSize: number;
  /** The cluster, multicluster and reverse zones, longest first: a name belongs to the first that holds it. */
  readonly #zones: readonly string[];
  readonly #fallthrough: readonly string[];
  readonly #multicluster: ReadonlySet<string>;

  constructor(options: HandlerOptions) {
    this.#o = options;
    this.#ctx = answerContext(options);
    this.#cacheSize = options.cacheSize ?? 100_000;
    const kubeadm = ['in-addr.arpa', 'ip6.arpa'];
    this.#multicluster = new Set(options.multiclusterZones ?? []);
    this.#zones = [...new Set([options.zone, ...(options.otherZones ?? []), ...this.#multicluster, ...(options.reverseZones ?? kubeadm)])].sort((a, b) => b.length - a.length);
    this.#fallthrough = options.fallthrough ?? kubeadm;
    options.controller.onChange(() => this.#clearCache());
  }

  /** handle answers `packet`; a Promise only when the answer needs the upstream. */
  handle(packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined> {
    return this.#handle(packet, client, undefined);
  }

  /** handleParsed is handle for a query the plugin chain has parsed already (`q` is `packet` parsed), which is not parsed again. */
  handleParsed(q: Query, packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined> {
    return this.#handle(packet, client, q);
  }

  #handle(packet: Buffer, client: Client, parsed: Query | undefined): Buffer | undefined | Promise<Buffer | undefined> {
    const started = performance.now();
    const fast = scanQuery(packet);
    if (fast && this.#o.controller.hasSynced()) {
      const key = fast.key + sizeClass(client.proto, fast.ednsSize, fast.dnssecOk);
      const cached = this.#cache.get(key);
      if (cached) {
        this.#o.metrics?.request(client.proto, client.family, fast.qtype, cached[3]! & 0xf, 'kubernetes', (performance.now() - started) / 1000);
        return patchResponse(cached, packet, fast.questionEnd);
      }
    }
    let result: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      result = parsed ? this.#respond(parsed, packet, client, started) : this.#slow(packet, client, started);
    } catch (error) {
      log.error('Answering a query failed', { client: client.address, err: getErrorMessage(error) });
      result = servfailFromHeader(packet);
    }
    return result;
  }

  #slow(packet: Buffer, client: Client, started: number): Buffer | undefined | Promise<Buffer | undefined> {
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch (error) {
      // An IXFR carries the client's SOA, which the query parser refuses: a transfer not served here is REFUSED, as an AXFR.
      const xfr = readTransferQuery(packet);
      if (xfr) return this.#done(encodeMessage(replyTo(xfr.q, RCODE.REFUSED, false), MAX_TCP_SIZE), client, xfr.q.qtype, '', started);
      if (error instanceof WireFormatError && error.id !== undefined) return this.#done(formErr(packet), client, 0, 'kubernetes', started);
      return undefined;
    }
    return this.#respond(q, packet, client, started);
  }

  /** #respond answers the parsed query `q` (of `packet`) from the cluster zones or the upstream. */
  #respond(q: Query, packet: Buffer, client: Client, started: number): Buffer | undefined | Promise<Buffer | undefined> {
    const limit = client.proto === 'tcp' ? MAX_TCP_SIZE : q.edns ? responseUdpSize(q.edns.udpSize) : CLASSIC_UDP_SIZE;
    const plain = (rcode: number) => this.#done(encodeMessage(replyTo(q, rcode, false), limit), client, q.qtype, '', started);
    if (q.opcode !== 0) return plain(RCODE.NOTIMP);
    if (q.edns && q.edns.version !== 0) return plain(RCODE.BADVERS);
    if (q.qtype === QTYPE.AXFR || q.qtype === QTYPE.IXFR) return plain(RCODE.REFUSED);
    if (q.qclass !== QCLASS_IN) return plain(RCODE.REFUSED);
    // Cluster answers keep the query's spelling of the zone, so they are cached per spelling (as scanQuery keys them);
    // forwarded answers are cached by the name in lower case.
    const question = packet.toString('latin1', 12, q.questionEnd - 2);
    const size = sizeClass(client.proto, q.edns ? q.edns.udpSize : -1, q.edns?.dnssecOk ?? false);
    const cacheKey = question + size;
    const zone = this.#zones.find((z) => inZone(q.name, z));
    if (zone !== undefined) {
      const multicluster = this.#multicluster.has(zone);
      // A multicluster zone waits for the ServiceImports too (while their CRD is absent, for ever).
      const synced = this.#o.controller.hasSynced() && (!multicluster || this.#o.controller.multicluster?.hasSynced() === true);
      // A name that does not exist in a fallthrough zone gets no answer here: it goes on to the upstream.
      const answer = answerZone(q, zone, this.#ctx, multicluster, this.#fallsThrough);
      if (answer) {
        const { message, chase } = answer;
        // As CoreDNS: before the informers sync, a name not found may yet exist, so
        // NXDOMAIN becomes SERVFAIL (still authoritative, with the SOA); what is found is answered.
        if (!synced && (message.flags & 0xf) === RCODE.NXDOMAIN) message.flags = (message.flags & ~0xf) | RCODE.SERVFAIL;
        if (chase !== undefined) return this.#chase(q, message, chase, limit, client, started);
        const response = encodeMessage(message, limit);
        return this.#done(synced ? this.#remember(cacheKey, response) : response, client, q.qtype, 'kubernetes', started);
      }
    }
    if (!this.#o.acl.allows(client.address)) return plain(RCODE.REFUSED);
    const forwarder = this.#o.forwarder;
    if (!forwarder) return plain(RCODE.SERVFAIL);
    return forwarder.forward(packet, question.toLowerCase() + size, q.questionEnd, client.proto === 'tcp').then(
      (response) => this.#done(response, client, q.qtype, 'forward', started),
      (error: unknown) => {
        log.info(2, 'Forwarding failed', { name: q.qname, err: getErrorMessage(error) });
        return plain(RCODE.SERVFAIL);
      },
    );
  }

  /** #fallsThrough: an NXDOMAIN for `name` goes on to the upstream (`fallthrough` zones). */
  readonly #fallsThrough = (name: string): boolean => this.#fallthrough.some((z) => z === '.' || inZone(name, z));

  async #chase(q: Query, message: Message, target: string, limit: number, client: Client, started: number): Promise<Buffer | undefined> {
    try {
      const records = await this.#o.forwarder?.resolve(target, q.qtype);
      if (records) message.answer.push(...records);
    } catch (error) {
      // CoreDNS drops what it could not chase and still returns the CNAME.
      log.info(2, 'ExternalName chase failed', { target, err: getErrorMessage(error) });
    }
    return this.#done(encodeMessage(message, limit), client, q.qtype, 'kubernetes', started);
  }

  /** remember caches a copy of `response` and returns `response` itself, which nobody else holds. */
  #remember(key: string, response: Buffer): Buffer {
    if (this.#cache.size >= this.#cacheSize) this.#clearCache();
    const kept = this.#arena.copy(response);
    this.#cache.set(key, kept);
    this.#o.cacheListener?.set(key, kept);
    return response;
  }

  #clearCache(): void {
    this.#cache.clear();
    this.#arena.reset();
    this.#o.cacheListener?.clear();
  }

  #done(response: Buffer, client: Client, qtype: number, plugin: Plugin, started: number): Buffer {
    this.#o.metrics?.request(client.proto, client.family, qtype, response[3]! & 0xf, plugin, (performance.now() - started) / 1000);
    return response;
  }
}

/** formErr answers a query that could not be parsed: its header only, rcode FORMERR (RFC 1035 §4.1.1). */
function formErr(packet: Buffer): Buffer {
  const out = Buffer.alloc(12);
  packet.copy(out, 0, 0, 4);
  out.writeUInt16BE((out.readUInt16BE(2) & (FLAG.RD | 0x7800)) | FLAG.QR | RCODE.FORMERR, 2);
  return out;
}

function servfailFromHeader(packet: Buffer): Buffer | undefined {
  if (packet.length < 12) return undefined;
  const out = formErr(packet);
  out[3] = (out[3]! & 0xf0) | RCODE.SERVFAIL;
  return out;
}
