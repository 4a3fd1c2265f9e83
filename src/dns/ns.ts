import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { LookupContext } from './lookup.ts';
import { endpointName } from './parse.ts';

/**
 * The zone's name server records, as CoreDNS's kubernetes plugin builds
 * them (plugin/kubernetes/ns.go): the apex NS names the Service whose
 * endpoint is this server (found by the addresses it serves on), with that
 * Service's ClusterIPs (or, headless, its endpoints) as glue; when no
 * Service has this server as an endpoint, the NS is `ns.dns.<zone>` with
 * this server's own addresses. `ns.dns.<zone>` itself resolves to the same
 * addresses.
 */

/** defaultNSName is the NS name used when this server is no Service's endpoint. */
export function defaultNSName(zone: string): string {
  return `ns.dns.${zone}`;
}

/** NsAddress is one glue record: an NS target name and one of its addresses. */
export interface NsAddress {
  readonly name: string;
  readonly ip: string;
}

/** NsContext adds the addresses this server answers on (non-loopback; CoreDNS's localIPs). */
export interface NsContext extends LookupContext {
  localIPs: readonly string[];
}

/** nsAddresses lists the name server addresses (CoreDNS nsAddrs, internal names), deduplicated, in a stable order. */
export function nsAddresses(ctx: NsContext): NsAddress[] {
  const { controller, zone } = ctx;
  const out = new Map<string, NsAddress>();
  const add = (name: string, ip: string) => out.set(`${name}|${ip}`, { name, ip });
  let found = false;
  for (const local of ctx.localIPs) {
    for (const { service } of controller.endpointsByIP(local)) {
      found = true;
      const svcName = `${service.name}.${service.namespace}.svc.${zone}`;
      if (service.kind !== 'Headless') {
        for (const ip of service.clusterIPs) add(svcName, ip);
        continue;
      }
      for (const ep of controller.endpoints(service.namespace, service.name)) {
        if (ep.ready || service.publishNotReady) add(`${endpointName(ep.ip, ep.hostname)}.${svcName}`, ep.ip);
      }
    }
  }
  if (!found) for (const ip of ctx.localIPs) add(defaultNSName(zone), ip);
  return [...out.values()];
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/**
 * boundIPs lists the non-loopback addresses a server listening on `host`
 * answers on (CoreDNS boundIPs): the host itself, or every interface address
 * for an unspecified host (0.0.0.0, ::). Link-local IPv6 is left out (it
 * needs a zone to be reachable).
 */
export function boundIPs(host: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  const unspecified = host === '0.0.0.0' || host === '::';
  const candidates = unspecified ? Object.values(interfaces).flat().filter((a) => a !== undefined).map((a) => a!.address) : [host];
  return [...new Set(candidates.filter((ip) => isIP(ip) !== 0 && !isLoopback(ip) && !ip.toLowerCase().startsWith('fe80:')))];
}
