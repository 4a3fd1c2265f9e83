import { CLASSIC_UDP_SIZE, FLAG, MAX_UDP_SIZE, QTYPE, RCODE } from './wire/constants.ts';
import type { Message, ResourceRecord } from './wire/message.ts';
import type { Query } from './wire/query.ts';
import { ipFamily, lookupPTR, lookupRequest, type Item } from './lookup.ts';
import { defaultNSName, nsAddresses, type NsContext } from './ns.ts';
import { inZone, parseRequest, reverseToIP } from './parse.ts';

/** The schema version of the Kubernetes DNS specification we serve, and its TTL (CoreDNS). */
export const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_VERSION_TTL = 28800;

export interface AnswerContext extends NsContext {
  ttl: number;
}

/** AnswerSettings are the kubernetes plugin's settings answers are built from, as HandlerOptions and DnsServerOptions carry them. */
export type AnswerSettings = Pick<AnswerContext, 'controller' | 'zone' | 'ttl' | 'podMode'> & { zonal?: boolean; localIPs?: readonly string[] };

/** answerContext is the context the answer builders take, the same for the handler's answers and the zone transfers. */
export function answerContext(o: AnswerSettings): AnswerContext {
  return { controller: o.controller, zone: o.zone, ttl: o.ttl, podMode: o.podMode, zonal: o.zonal ?? false, localIPs: o.localIPs ?? [] };
}

/**
 * ClusterAnswer is the response to a cluster name, and, when it is an
 * ExternalName CNAME pointing outside the zone, the target to chase through
 * the upstream (the caller appends what it finds; such answers are not cached).
 */
export interface ClusterAnswer {
  message: Message;
  chase: string | undefined;
}

/** replyTo starts a response to `q`: QR and AA set, RD and CD echoed, the question and OPT echoed. */
export function replyTo(q: Query, rcode: number, authoritative = true): Message {
  const flags = FLAG.QR | (authoritative ? FLAG.AA : 0) | (q.flags & (FLAG.RD | FLAG.CD)) | (q.opcode << 11) | (rcode & 0xf);
  return {
    id: q.id,
    flags,
    question: { qname: q.qname, qtype: q.qtype, qclass: q.qclass },
    answer: [],
    authority: [],
    additional: [],
    edns: q.edns ? { udpSize: responseUdpSize(q.edns.udpSize), extendedRcode: rcode >> 4, dnssecOk: q.edns.dnssecOk } : undefined,
  };
}

/** responseUdpSize is the payload size we advertise and honour: the client's, within [512, 4096]. */
export function responseUdpSize(advertised: number): number {
  return Math.min(Math.max(advertised, CLASSIC_UDP_SIZE), MAX_UDP_SIZE);
}

/** soaRecord is the zone's SOA as CoreDNS writes it in negative answers. */
export function soaRecord(zone: string, ctx: AnswerContext): ResourceRecord {
  const ttl = Math.min(ctx.ttl, 300);
  return {
    name: zone,
    ttl,
    type: QTYPE.SOA,
    mname: `ns.dns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial: (ctx.multicluster ? ctx.controller.multicluster?.modified() : undefined) ?? ctx.controller.modified(),
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: ttl,
  };
}

function negative(q: Query, ctx: AnswerContext, rcode: number, zone: string): ClusterAnswer {
  const message = replyTo(q, rcode);
  message.authority.push(soaRecord(zone, ctx));
  return { message, chase: undefined };
}

/** FallsThrough says whether an NXDOMAIN for `name` goes on to the next plugin (`kubernetes { fallthrough }`) instead of being answered. */
export type FallsThrough = (name: string) => boolean;

const NEVER: FallsThrough = () => false;

/** nxdomain is the NXDOMAIN with the zone's SOA, or undefined when the name falls through (then no answer is built at all). */
function nxdomain(q: Query, ctx: AnswerContext, zone: string, fallsThrough: FallsThrough): ClusterAnswer | undefined {
  return fallsThrough(q.name) ? undefined : negative(q, ctx, RCODE.NXDOMAIN, zone);
}

/**
 * answerCluster answers a question whose name is inside the cluster zone
 * (the caller checked, and that the index has synced); undefined for a name
 * that does not exist and falls through. The names it makes spell the zone
 * as the query did, as CoreDNS's do.
 */
function answerCluster(q: Query, ctx: AnswerContext, fallsThrough: FallsThrough): ClusterAnswer | undefined {
  const answer = answerClusterName(q, ctx, fallsThrough);
  if (answer) respellZone(answer.message, ctx.zone, q.qname.slice(q.qname.length - ctx.zone.length));
  return answer;
}

/**
 * respellZone writes `zone` as `spelled` in the names of `message` that end
 * in it (owners, SOA, NS and SRV targets): CoreDNS builds its answers under
 * `qname[len(qname)-len(zone):]`, so `SvC1.TeStNs.SvC.cLuStEr.LoCaL SRV`
 * names `svc1.testns.svc.cLuStEr.LoCaL`. An ExternalName's CNAME target, and
 * the records owned by it, stay as the Service spells them.
 */
function respellZone(message: Message, zone: string, spelled: string): void {
  if (spelled === zone) return;
  const respell = (name: string) => (inZone(name.toLowerCase(), zone) ? name.slice(0, name.length - zone.length) + spelled : name);
  const external = new Set<string>();
  for (const rr of message.answer) if (rr.type === QTYPE.CNAME) external.add(rr.target);
  for (const rr of [...message.answer, ...message.authority, ...message.additional]) {
    if (!external.has(rr.name)) rr.name = respell(rr.name);
    if (rr.type === QTYPE.SOA) {
      rr.mname = respell(rr.mname);
      rr.rname = respell(rr.rname);
    } else if (rr.type === QTYPE.NS || rr.type === QTYPE.SRV) rr.target = respell(rr.target);
  }
}

function answerClusterName(q: Query, ctx: AnswerContext, fallsThrough: FallsThrough): ClusterAnswer | undefined {
  const { zone } = ctx;
  if (q.name === zone) return answerApex(q, ctx);
  if (q.name === defaultNSName(zone)) return answerDefaultNS(q, ctx);
  if (q.qtype === QTYPE.TXT && q.name === `dns-version.${zone}`) {
    const message = replyTo(q, RCODE.NOERROR);
    message.answer.push({ name: q.qname, ttl: DNS_VERSION_TTL, type: QTYPE.TXT, texts: [DNS_SCHEMA_VERSION] });
    return { message, chase: undefined };
  }
  const request = parseRequest(q.name, zone, ctx.multicluster, ctx.zonal);
  if (!request || (request.podOrSvc !== '' && isReverseName(q.name))) return nxdomain(q, ctx, zone, fallsThrough);
  const found = lookupRequest(request, ctx, q.qtype === QTYPE.SRV);
  if (found.kind === 'nxdomain') return nxdomain(q, ctx, zone, fallsThrough);
  const message = replyTo(q, RCODE.NOERROR);
  let chase: string | undefined;
  switch (q.qtype) {
    case QTYPE.A:
    case QTYPE.AAAA:
      chase = addressRecords(q, found.items, ctx, message);
      break;
    case QTYPE.SRV:
      srvRecords(q, found.items, ctx, message);
      break;
    case QTYPE.CNAME:
      for (const item of found.items) if (item.isName) message.answer.push({ name: q.qname, ttl: ctx.ttl, type: QTYPE.CNAME, target: item.host });
      break;
  }
  if (message.answer.length === 0) message.authority.push(soaRecord(zone, ctx));
  return { message, chase };
}

function answerApex(q: Query, ctx: AnswerContext): ClusterAnswer {
  const message = replyTo(q, RCODE.NOERROR);
  if (q.qtype === QTYPE.SOA) message.answer.push({ ...soaRecord(ctx.zone, ctx), name: q.qname });
  else if (q.qtype === QTYPE.NS) nsRecords(q, ctx, message);
  else message.authority.push(soaRecord(ctx.zone, ctx));
  return { message, chase: undefined };
}

/**
 * nsRecords answers the apex NS with glue, as CoreDNS (plugin.NS): one NS
 * per target name, every address in the additional section. A server that
 * answers on loopback only has no address to give: it still names
 * `ns.dns.<zone>` (where CoreDNS would answer NODATA).
 */
function nsRecords(q: Query, ctx: AnswerContext, message: Message): void {
  const { ns, glue } = apexNS(q.qname, ctx);
  message.answer.push(...ns);
  message.additional.push(...glue);
}

/** apexNS is the apex's NS records, owned by `owner`, one per target name, and the targets' addresses (glue): for NS answers and zone transfers. */
export function apexNS(owner: string, ctx: AnswerContext): { ns: ResourceRecord[]; glue: ResourceRecord[] } {
  const addresses = nsAddresses(ctx);
  const targets = new Set(addresses.map((a) => a.name));
  if (targets.size === 0) targets.add(defaultNSName(ctx.zone));
  const ns: ResourceRecord[] = [...targets].map((target) => ({ name: owner, ttl: ctx.ttl, type: QTYPE.NS, target }));
  return { ns, glue: addresses.map((a) => address(a.name, a.ip, ctx.ttl)) };
}

/** answerDefaultNS answers `ns.dns.<zone>`: the name server addresses of the asked family (CoreDNS isDefaultNS), else NODATA. */
function answerDefaultNS(q: Query, ctx: AnswerContext): ClusterAnswer {
  const message = replyTo(q, RCODE.NOERROR);
  const family = q.qtype === QTYPE.A ? 4 : q.qtype === QTYPE.AAAA ? 6 : 0;
  for (const a of nsAddresses(ctx)) if (family !== 0 && ipFamily(a.ip) === family) message.answer.push(address(q.qname, a.ip, ctx.ttl));
  if (message.answer.length === 0) message.authority.push(soaRecord(ctx.zone, ctx));
  return { message, chase: undefined };
}

/** addressRecords adds A/AAAA records, or the CNAME of an ExternalName (chased inside the zone, returned for chasing outside it). */
function addressRecords(q: Query, items: Item[], ctx: AnswerContext, message: Message): string | undefined {
  const family = q.qtype === QTYPE.A ? 4 : 6;
  for (const item of items) {
    if (item.isName) {
      message.answer.push({ name: q.qname, ttl: ctx.ttl, type: QTYPE.CNAME, target: item.host });
      if (!inZone(item.host, ctx.zone)) return item.host;
      const inner = parseRequest(item.host, ctx.zone);
      const found = inner && lookupRequest(inner, ctx, false);
      if (found?.kind !== 'found') return undefined;
      for (const it of found.items) if (!it.isName && ipFamily(it.host) === family) message.answer.push(address(item.host, it.host, ctx.ttl));
      return undefined;
    }
    if (ipFamily(item.host) === family) message.answer.push(address(q.qname, item.host, ctx.ttl));
  }
  return undefined;
}

/**
 * srvRecords writes SRV records as CoreDNS's plugin.SRV: the weight shares
 * 100 among every item found, then one record per (target, port) and one
 * address per (target, address), so a dual-stack Service or endpoints that
 * share a hostname give one SRV with both addresses as glue.
 */
function srvRecords(q: Query, items: Item[], ctx: AnswerContext, message: Message): void {
  const withPort = items.filter((i) => i.port > 0);
  const weight = withPort.length ? Math.max(1, Math.floor(100 / withPort.length)) : 0;
  const seen = new Set<string>();
  const once = (key: string) => !seen.has(key) && seen.add(key) !== undefined;
  for (const item of withPort) {
    // ExternalName targets are names: CoreDNS neither merges nor glues them here.
    if (item.isName || once(`srv|${item.target}|${item.port}`)) {
      message.answer.push({ name: q.qname, ttl: ctx.ttl, type: QTYPE.SRV, priority: 0, weight, port: item.port, target: item.target });
    }
    if (!item.isName && once(`glue|${item.target}|${item.host}`)) message.additional.push(address(item.target, item.host, ctx.ttl));
  }
}

/** address is the A or AAAA record for `ip`, by its family. */
export function address(name: string, ip: string, ttl: number): ResourceRecord {
  return ipFamily(ip) === 6 ? { name, ttl, type: QTYPE.AAAA, address: ip } : { name, ttl, type: QTYPE.A, address: ip };
}

/**
 * answerZone answers a question inside one of the kubernetes plugin's zones
 * (`zone`, the longest that holds the name; the caller checked): the cluster
 * zone, or a reverse zone it is authoritative for. There, as CoreDNS: the
 * PTR of a whole address names the services and endpoints that have it, or
 * is NXDOMAIN with the reverse zone's SOA; any other name is taken apart as
 * a cluster name under that zone, where service and pod names do not exist.
 * In a `multicluster` zone services are ServiceImports. A name that does not
 * exist and `fallsThrough` gets no answer (undefined): it goes on to the
 * next plugin, and no NXDOMAIN is built for nothing.
 */
export function answerZone(q: Query, zone: string, ctx: AnswerContext, multicluster = false, fallsThrough = NEVER): ClusterAnswer | undefined {
  if (zone === ctx.zone && !multicluster) return answerCluster(q, ctx, fallsThrough);
  const zoneCtx = { ...ctx, zone, multicluster };
  const ip = q.qtype === QTYPE.PTR ? reverseToIP(q.name) : undefined;
  if (ip === undefined) return answerCluster(q, zoneCtx, fallsThrough);
  const names = lookupPTR(ip, ctx);
  if (names.length === 0) return nxdomain(q, zoneCtx, zone, fallsThrough);
  const message = replyTo(q, RCODE.NOERROR);
  for (const target of names) message.answer.push({ name: q.qname, ttl: ctx.ttl, type: QTYPE.PTR, target });
  return { message, chase: undefined };
}

/** isReverseName: names under in-addr.arpa and ip6.arpa hold no service or pod (CoreDNS Records). */
function isReverseName(name: string): boolean {
  return inZone(name, 'in-addr.arpa') || inZone(name, 'ip6.arpa');
}
