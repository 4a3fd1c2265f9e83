import { address, replyTo } from './answer.ts';
import type { DnsController } from './controller.ts';
import type { K8sExternalConfig } from './corefile/k8s-external.ts';
import { ipFamily } from './lookup.ts';
import type { DnsPort, DnsService } from './object.ts';
import { longestZone } from './metadata.ts';
import { nsAddrs, type NsAddress } from './ns.ts';
import { endpointName, inZone, reverseToIP } from './parse.ts';
import { QTYPE, RCODE } from './wire/constants.ts';
import { encodeMessage, type Message, type ResourceRecord } from './wire/message.ts';
import type { Query } from './wire/query.ts';

/**
 * CoreDNS's `k8s_external` plugin (plugin/k8s_external and
 * plugin/kubernetes/external.go, coredns/coredns@4b26cced3): an extra zone
 * where `<service>.<namespace>.<zone>` resolves to the Service's external
 * IPs and LoadBalancer ingress addresses, `_port._proto.<service>...` to
 * SRV records, headless Services (with `headless`) to their endpoints, the
 * apex to an SOA and an NS `ns1.<apex>.<zone>` whose glue is the DNS
 * Service's own external addresses, and any other name to NXDOMAIN with the
 * SOA. It is a step of the plugin chain (corefile/chain.ts), before the
 * kubernetes plugin, which gets every name outside its zones (and, with
 * `fallthrough`, its NXDOMAINs).
 */

/** ExternalSource is what the plugin asks of the cluster besides the DnsController. */
export interface ExternalSource {
  /** The kubernetes plugin's view (its exposed namespaces). */
  readonly controller: DnsController;
  /** The external zone's SOA serial (CoreDNS ExternalSerial). */
  externalModified(): number;
  /** Services with this external address (PTR). */
  servicesByExternalIP(ip: string): readonly DnsService[];
  /** Addresses this server answers on (CoreDNS localIPs), to find its own Service. */
  readonly localIPs: readonly string[];
}

/** An answer item: CoreDNS's msg.Service (host, port, and the owner its SRV targets). */
interface Item {
  host: string;
  port: number;
  target: string;
}

const within = (name: string, zone: string) => zone === '' || inZone(name, zone);
const join = (...parts: string[]) => parts.filter((p) => p !== '').join('.');
const NO_PORT: readonly DnsPort[] = [{ name: '', protocol: '', port: -1 }];
const strip = (label: string | undefined) => (label?.startsWith('_') ? label.slice(1) : label ?? '');
const matches = (want: string, have: string) => want === '' || want.toLowerCase() === have.toLowerCase();

export class K8sExternal {
  readonly #cfg: K8sExternalConfig;
  readonly #src: ExternalSource;

  constructor(cfg: K8sExternalConfig, source: ExternalSource) {
    this.#cfg = cfg;
    this.#src = source;
  }

  get source(): ExternalSource {
    return this.#src;
  }

  /**
   * respond is the plugin's step in the chain (corefile/chain.ts): the
   * encoded answer to the query the chain parsed, within `limit` bytes, or
   * undefined when the query goes on to the kubernetes plugin (a name
   * outside its zones, or an NXDOMAIN its `fallthrough` passes on).
   */
  respond(q: Query, limit: number): Buffer | undefined {
    const zone = this.zoneOf(q.name);
    const msg = zone === undefined ? undefined : this.answer(q, zone);
    return msg && encodeMessage(msg, limit);
  }

  /** zoneOf is the most specific of the plugin's zones holding `name`. */
  zoneOf(name: string): string | undefined {
    return longestZone(name, this.#cfg.zones);
  }

  /** answer is the response to `q` in `zone`; undefined when it falls through to the next plugin. */
  answer(q: Query, zone: string): Message | undefined {
    const name = q.name;
    const apexZone = join(this.#cfg.apex, zone);
    if (name === zone) return this.#apex(q, zone);
    if (inZone(name, apexZone)) return this.#subApex(q, zone);
    const { items, rcode } = this.lookup(q, zone);
    const m = replyTo(q, RCODE.NOERROR);
    if (items.length === 0) {
      if (rcode === RCODE.NXDOMAIN && this.#cfg.fallthrough?.some((f) => within(name, f))) return undefined;
      return { ...m, flags: (m.flags & ~0xf) | rcode, authority: [this.soa(zone)] };
    }
    const owner = q.qname.replace(/\.$/, '');
    if (q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA) m.answer = this.#addresses(items, owner, q.qtype === QTYPE.A ? 4 : 6);
    else if (q.qtype === QTYPE.SRV) [m.answer, m.additional] = this.#srv(items, owner);
    else if (q.qtype === QTYPE.PTR) m.answer = items.map((i) => ({ name: owner, ttl: this.#cfg.ttl, type: QTYPE.PTR, target: join(i.host, this.#cfg.zones[0]!) }));
    if (m.answer.length === 0) m.authority = [this.soa(zone)];
    return m;
  }

  /**
   * lookup finds the items for a name below the zone (CoreDNS External):
   * `[endpoint.]service.namespace` or `_port._proto.service.namespace`;
   * a PTR for an address from the Services holding it as external IP.
   */
  lookup(q: Query, zone: string): { items: Item[]; rcode: number } {
    const { controller } = this.#src;
    if (q.qtype === QTYPE.PTR) {
      const ip = reverseToIP(q.name);
      if (ip !== undefined) {
        const items = this.#src.servicesByExternalIP(ip).filter((s) => controller.hasNamespace(s.namespace)).map((s) => ({ host: `${s.name}.${s.namespace}`, port: 0, target: '' }));
        return { items, rcode: items.length > 0 ? RCODE.NOERROR : RCODE.NXDOMAIN };
      }
    }
    const base = zone === '' ? q.name : q.name.slice(0, -(zone.length + 1));
    const segs = base.split('.');
    const namespace = segs.pop()!;
    if (!controller.hasNamespace(namespace)) return { items: [], rcode: RCODE.NXDOMAIN };
    const service = segs.pop();
    if (service === undefined) return { items: [], rcode: RCODE.NOERROR };
    if (segs.length > 2) return { items: [], rcode: RCODE.NXDOMAIN };
    const endpoint = segs.length === 1 ? strip(segs[0]) : '';
    const [port, protocol] = segs.length === 2 ? [strip(segs[0]), strip(segs[1])] : ['', ''];
    const svc = controller.service(namespace, service);
    const items: Item[] = [];
    let found = false;
    const svcName = join(service, namespace, zone);
    const external = svc?.externalIPs ?? [];
    const portMatch = (p: DnsPort) => matches(port, p.name) && matches(protocol, p.protocol);
    if (svc && this.#cfg.headless && external.length === 0 && (svc.kind === 'Headless' || endpoint !== '')) {
      for (const ep of controller.endpoints(namespace, service)) {
        if (!(ep.ready || svc.publishNotReady)) continue;
        const label = endpointName(ep.ip, ep.hostname);
        if (endpoint !== '' && !matches(endpoint, label)) continue;
        for (const p of ep.ports) {
          if (!portMatch(p)) continue;
          found = true;
          items.push({ host: ep.ip, port: p.port, target: `${label}.${svcName}` });
        }
      }
    } else if (svc) {
      for (const ip of external) {
        for (const p of svc.ports.length > 0 ? svc.ports : NO_PORT) {
          if (!portMatch(p)) continue;
          found = true;
          items.push({ host: ip, port: p.port, target: svcName });
        }
      }
    }
    // A PTR question for a forward name gets no records, only the right rcode.
    return { items: q.qtype === QTYPE.PTR ? [] : items, rcode: found ? RCODE.NOERROR : RCODE.NXDOMAIN };
  }

  /** #addresses: A or AAAA records for the addresses (once each), a CNAME for a LoadBalancer hostname. */
  #addresses(items: Item[], owner: string, family: 4 | 6): ResourceRecord[] {
    const out: ResourceRecord[] = [];
    const seen = new Set<string>();
    const ttl = this.#cfg.ttl;
    for (const { host } of items) {
      const f = ipFamily(host);
      if (seen.has(host) || (f !== 0 && f !== family)) continue;
      seen.add(host);
      if (f === 0) out.push({ name: owner, ttl, type: QTYPE.CNAME, target: host.replace(/\.$/, '') });
      else out.push(address(owner, host, ttl));
    }
    return out;
  }

  /** #srv: one SRV per target and port, weights sharing 100 (CoreDNS srv()), the targets' addresses as extra. */
  #srv(items: Item[], owner: string): [ResourceRecord[], ResourceRecord[]] {
    const ttl = this.#cfg.ttl;
    const weight = Math.max(1, Math.floor(100 / items.length));
    const answer: ResourceRecord[] = [];
    const extra: ResourceRecord[] = [];
    const seen = new Set<string>();
    for (const { host, port, target } of items) {
      if (port === -1) continue;
      const f = ipFamily(host);
      const srvTarget = f === 0 ? host.replace(/\.$/, '') : target;
      if (!seen.has(`${srvTarget}|${port}`)) answer.push({ name: owner, ttl, type: QTYPE.SRV, priority: 0, weight, port, target: srvTarget });
      seen.add(`${srvTarget}|${port}`);
      if (f === 0 || seen.has(`${srvTarget}@${host}`)) continue;
      seen.add(`${srvTarget}@${host}`);
      extra.push(address(srvTarget, host, ttl));
    }
    return [answer, extra];
  }

  /** #apex answers the zone itself: SOA, NS with its glue, NODATA otherwise. */
  #apex(q: Query, zone: string): Message {
    const m = replyTo(q, RCODE.NOERROR);
    if (q.qtype === QTYPE.SOA) m.answer = [this.soa(zone)];
    else if (q.qtype === QTYPE.NS) {
      const ns = this.nsName(zone);
      m.answer = [{ name: zone, ttl: this.#cfg.ttl, type: QTYPE.NS, target: ns }];
      m.additional = this.nsRecords(zone, ns);
    } else m.authority = [this.soa(zone)];
    return m;
  }

  /** #subApex answers names below `<apex>.<zone>`: `ns1` has the glue, `<apex>` itself is an empty non-terminal, others do not exist. */
  #subApex(q: Query, zone: string): Message {
    const m = replyTo(q, RCODE.NOERROR);
    const base = q.name.slice(0, -(zone.length + 1)).split('.');
    if (base.length === 1) return { ...m, authority: [this.soa(zone)] };
    if (base.length !== 2 || base[0] !== 'ns1') return { ...m, flags: (m.flags & ~0xf) | RCODE.NXDOMAIN, authority: [this.soa(zone)] };
    const want = q.qtype === QTYPE.A ? QTYPE.A : q.qtype === QTYPE.AAAA ? QTYPE.AAAA : undefined;
    m.answer = this.nsRecords(zone, q.qname.replace(/\.$/, '')).filter((r) => r.type === want);
    if (m.answer.length === 0) m.authority = [this.soa(zone)];
    return m;
  }

  nsName(zone: string): string {
    return join('ns1', this.#cfg.apex, zone);
  }

  /** nsRecords are the name server's addresses (externalNsAddresses) under `name`. */
  nsRecords(zone: string, name: string): ResourceRecord[] {
    const ttl = this.#cfg.ttl;
    return externalNsAddresses(this.#src, zone, this.#cfg.headless).map(({ ip }) => address(name, ip, ttl));
  }

  soa(zone: string): ResourceRecord {
    const { ttl, apex } = this.#cfg;
    return {
      name: zone, ttl, type: QTYPE.SOA, mname: this.nsName(zone), rname: join('hostmaster', apex, zone),
      serial: this.#src.externalModified(), refresh: 7200, retry: 1800, expire: 86400, minimum: ttl,
    };
  }
}

/**
 * externalNsAddresses is CoreDNS's nsAddrs with external=true (ns.ts's nsAddrs): for each
 * Service whose endpoint is this server, its external addresses named
 * `<service>.<namespace>.<zone>` (with `headless`, a headless Service's
 * endpoints named `<endpoint>.<service>.<namespace>.<zone>`); when no
 * Service has this server as endpoint, this server's own addresses.
 */
export function externalNsAddresses(src: Pick<ExternalSource, 'controller' | 'localIPs'>, zone: string, headless: boolean): NsAddress[] {
  return nsAddrs(src.controller, zone, src.localIPs, { headless });
}
