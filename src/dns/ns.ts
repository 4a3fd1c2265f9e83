import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { DnsController } from './controller.ts';
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

/** nsAddresses lists the kubernetes plugin's name server addresses (CoreDNS nsAddrs, internal names), deduplicated, in a stable order. */
export function nsAddresses(ctx: NsContext): NsAddress[] {
  return nsAddrs(ctx.controller, ctx.zone, ctx.localIPs);
}

/**
 * nsAddrs is CoreDNS's nsAddrs: the kubernetes plugin's addresses (internal names, ClusterIPs), or with
 * `external` k8s_external's (`<service>.<namespace>.<zone>` names, the Services' external addresses, a
 * headless Service's endpoints only with `headless`; `zone` may be '', the root).
 */
export function nsAddrs(controller: DnsController, zone: string, localIPs: readonly string[], external?: { readonly headless: boolean }): NsAddress[] {
  const out = new Map<string, NsAddress>();
  const add = (name: string, ip: string) => out.set(`${name}|${ip}`, { name, ip });
  const underZone = (name: string) => (zone === '' ? name : `${name}.${zone}`);
  let found = false;
  for (const local of localIPs) {
    for (const { service } of controller.endpointsByIP(local)) {
      found = true;
      const svcName = external ? underZone(`${service.name}.${service.namespace}`) : `${service.name}.${service.namespace}.svc.${zone}`;
      if (service.kind === 'Headless' && (!external || external.headless)) {
        for (const ep of controller.endpoints(service.namespace, service.name)) {
          if (ep.ready || service.publishNotReady) add(`${endpointName(ep.ip, ep.hostname)}.${svcName}`, ep.ip);
        }
      } else if (!external) for (const ip of service.clusterIPs) add(svcName, ip);
      else for (const ip of service.externalIPs ?? []) if (isIP(ip) !== 0) add(svcName, ip);
    }
  }
  if (!found) for (const ip of localIPs) add(external ? underZone('ns.dns') : defaultNSName(zone), ip);
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
