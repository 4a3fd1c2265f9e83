import type { Client } from './handler.ts';
import type { K8sExternal } from './k8s-external.ts';
import type { DnsService } from './object.ts';
import { endpointName } from './parse.ts';
import { allowed, byName, chunked, covers, readTransferQuery, transferReply, type TransferConfig } from './transfer.ts';
import { QTYPE, RCODE } from './wire/constants.ts';
import type { ResourceRecord } from './wire/message.ts';
import type { Query } from './wire/query.ts';

/**
 * ExternalTransfer answers AXFR/IXFR of a `k8s_external` zone when the
 * `transfer` plugin covers it (CoreDNS plugin/k8s_external/transfer.go):
 * the SOA, the NS and its glue, then each Service's records, then the SOA.
 * Each Service's records are the answers the plugin gives to the names it
 * has (its own name for A, AAAA and SRV; `_port._proto` SRVs; with
 * `headless`, each endpoint's name), so a transfer holds exactly what
 * queries see, as upstream's TestTransferAXFR checks. An IXFR with the
 * current serial gets the SOA alone. Notifies are not sent (nor upstream).
 */
export class ExternalTransfer {
  readonly #config: TransferConfig;
  readonly #plugin: K8sExternal;
  readonly #zones: readonly string[];
  readonly #headless: boolean;

  constructor(config: TransferConfig, plugin: K8sExternal, zones: readonly string[], headless: boolean) {
    this.#config = config;
    this.#plugin = plugin;
    this.#zones = zones;
    this.#headless = headless;
  }

  /** messages: the transfer's messages, or undefined when this is no transfer of one of the plugin's zones the transfer plugin covers. */
  messages(packet: Buffer, client: Client): Iterable<Buffer> | undefined {
    const xfr = readTransferQuery(packet);
    if (!xfr) return undefined;
    const { q, serial } = xfr;
    // Authoritative for the zones themselves, not for names below them (transfer.ErrNotAuthoritative).
    if (!this.#zones.includes(q.name)) return undefined;
    if (!covers(this.#config, q.name)) return undefined;
    const reply = (rcode: number, answer: ResourceRecord[] = []) => transferReply(q, rcode, answer);
    if (!allowed(this.#config.to, client.address)) return reply(RCODE.REFUSED);
    if (serial === null) return reply(RCODE.SERVFAIL);
    const soa = this.#plugin.soa(q.name);
    if (serial !== 0 && soa.type === QTYPE.SOA && serial >= soa.serial) return reply(RCODE.NOERROR, [soa]);
    return chunked(q, this.records(q.name, soa));
  }

  /** records lists the zone: SOA, NS, glue, each Service's answers (each record once), SOA. */
  *records(zone: string, soa: ResourceRecord): Generator<ResourceRecord> {
    yield soa;
    const ns = this.#plugin.nsName(zone);
    yield { name: zone, ttl: soa.ttl, type: QTYPE.NS, target: ns };
    yield* this.#plugin.nsRecords(zone, ns);
    const controller = this.#plugin.source.controller;
    const seen = new Set<string>();
    for (const svc of [...controller.services()].sort(byName)) {
      if (!controller.hasNamespace(svc.namespace)) continue;
      for (const [name, qtype] of this.#names(svc, zone)) {
        for (const rr of this.#plugin.answer(question(name, qtype), zone)?.answer ?? []) {
          const key = JSON.stringify(rr);
          if (seen.has(key)) continue;
          seen.add(key);
          yield rr;
        }
      }
    }
    yield soa;
  }

  /** #names are the names (and types) a Service has in the zone. */
  #names(svc: DnsService, zone: string): Array<[string, number]> {
    const svcName = `${svc.name}.${svc.namespace}.${zone}`;
    const all = (name: string): Array<[string, number]> => [[name, QTYPE.A], [name, QTYPE.AAAA], [name, QTYPE.SRV]];
    const ports = (list: DnsService['ports']): Array<[string, number]> => list.filter((p) => p.name !== '').map((p) => [`_${p.name.toLowerCase()}._${p.protocol}.${svcName}`, QTYPE.SRV]);
    const external = svc.externalIPs ?? [];
    if (external.length > 0) return [...all(svcName), ...ports(svc.ports)];
    if (!this.#headless || svc.kind !== 'Headless') return [];
    const endpoints = this.#plugin.source.controller.endpoints(svc.namespace, svc.name).filter((ep) => ep.ready || svc.publishNotReady);
    return [...all(svcName), ...endpoints.flatMap((ep) => [...all(`${endpointName(ep.ip, ep.hostname)}.${svcName}`), ...ports(ep.ports)])];
  }
}

function question(name: string, qtype: number): Query {
  return { id: 0, flags: 0, opcode: 0, qname: name, name, qtype, qclass: 1, questionEnd: 0, edns: undefined };
}
