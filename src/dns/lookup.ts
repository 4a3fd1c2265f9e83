import { isIP } from 'node:net';
import type { DnsController } from './controller.ts';
import type { DnsEndpoint, DnsPort, DnsService } from './object.ts';
import { endpointName, podIPFromName, type RecordRequest } from './parse.ts';

export type PodMode = 'insecure' | 'verified' | 'disabled';

/**
 * Item is one thing a cluster name stands for (CoreDNS msg.Service): an
 * address, or for ExternalName a host name. `port` is set for SRV answers;
 * `target` is the SRV target and the owner of its additional address record.
 */
export interface Item {
  host: string;
  /** True when `host` is a name (ExternalName), not an address. */
  isName: boolean;
  port: number;
  target: string;
}

/**
 * Lookup is the outcome of looking a name up: NXDOMAIN, or the items found
 * (an empty list is NODATA: the name exists but holds nothing here).
 */
export type Lookup = { kind: 'nxdomain' } | { kind: 'found'; items: Item[] };

const NXDOMAIN: Lookup = { kind: 'nxdomain' };
const NODATA: Lookup = { kind: 'found', items: [] };

export interface LookupContext {
  controller: DnsController;
  zone: string;
  podMode: PodMode;
  /** `zone` is a multicluster zone: services are ServiceImports (multicluster.ts). */
  multicluster?: boolean;
}

/**
 * lookupRequest finds what a parsed cluster name stands for (CoreDNS
 * Records → findServices/findPods). With `wantPorts` (an SRV question) a
 * name without `_port._proto` labels lists every port, as CoreDNS's
 * wildcard port does.
 */
export function lookupRequest(r: RecordRequest, ctx: LookupContext, wantPorts: boolean): Lookup {
  if (r.podOrSvc === '') return NODATA;
  if (r.podOrSvc === 'pod') return findPods(r, ctx);
  return ctx.multicluster ? findImports(r, ctx, wantPorts) : findServices(r, ctx, wantPorts);
}

function findPods(r: RecordRequest, ctx: LookupContext): Lookup {
  if (ctx.podMode === 'disabled') return NXDOMAIN;
  if (!ctx.controller.hasNamespace(r.namespace)) return NXDOMAIN;
  if (r.service === '') return NODATA;
  if (r.endpoint !== '' || r.port !== '') return NXDOMAIN;
  const ip = podIPFromName(r.service);
  if (!ip) return NXDOMAIN;
  if (ctx.podMode === 'verified' && !ctx.controller.hasPod(r.namespace, ip)) return NXDOMAIN;
  return { kind: 'found', items: [{ host: ip, isName: false, port: 0, target: '' }] };
}

function findServices(r: RecordRequest, ctx: LookupContext, wantPorts: boolean): Lookup {
  const { controller, zone } = ctx;
  if (!controller.hasNamespace(r.namespace)) return NXDOMAIN;
  if (r.service === '') return NODATA;
  const svc = controller.service(r.namespace, r.service);
  if (!svc) return NXDOMAIN;
  const svcName = `${svc.name}.${svc.namespace}.svc.${zone}`;
  const portQuery = r.port !== '' || wantPorts;
  // Without port labels an SRV question finds the name but may list no port: NODATA, not NXDOMAIN.
  const empty = r.port === '' ? NODATA : NXDOMAIN;
  if (svc.kind === 'ExternalName') {
    if (r.endpoint !== '') return NXDOMAIN;
    if (!portQuery) return { kind: 'found', items: [{ host: svc.externalName, isName: true, port: 0, target: svc.externalName }] };
    const ports = svc.ports.filter((p) => matchPort(p, r));
    if (ports.length === 0) return empty;
    return { kind: 'found', items: ports.map((p) => ({ host: svc.externalName, isName: true, port: p.port, target: svc.externalName })) };
  }
  if (svc.kind === 'Headless' || r.endpoint !== '') return endpointItems(svc, controller.endpoints(svc.namespace, svc.name), r, svcName, portQuery);
  const items: Item[] = [];
  for (const ip of svc.clusterIPs) {
    if (!portQuery) items.push({ host: ip, isName: false, port: 0, target: svcName });
    else for (const p of svc.ports) if (matchPort(p, r)) items.push({ host: ip, isName: false, port: p.port, target: svcName });
  }
  return items.length ? { kind: 'found', items } : svc.clusterIPs.length ? empty : NXDOMAIN;
}

function endpointItems(svc: DnsService, endpoints: readonly DnsEndpoint[], r: RecordRequest, svcName: string, portQuery: boolean): Lookup {
  const items: Item[] = [];
  let named = false;
  for (const ep of endpoints) {
    if (!ep.ready && !svc.publishNotReady) continue;
    const label = endpointName(ep.ip, ep.hostname);
    if (r.endpoint !== '' && label !== r.endpoint) continue;
    named = true;
    const target = `${label}.${svcName}`;
    if (!portQuery) items.push({ host: ep.ip, isName: false, port: 0, target });
    else for (const p of ep.ports) if (matchPort(p, r)) items.push({ host: ep.ip, isName: false, port: p.port, target });
  }
  // The specification: no ready endpoint is NXDOMAIN for a headless service.
  if (items.length) return { kind: 'found', items };
  return named && r.port === '' ? NODATA : NXDOMAIN;
}

/**
 * findImports finds a name in a multicluster zone, as CoreDNS's
 * findMultiClusterServices: a ClusterSetIP import is its IPs, one item per
 * port (none listed: no record, NXDOMAIN); a headless one, or an endpoint
 * name (which must give the cluster), is the endpoints of its slices,
 * named `<endpoint>.<cluster>.<service>.<namespace>.svc.<zone>`.
 */
function findImports(r: RecordRequest, ctx: LookupContext, wantPorts: boolean): Lookup {
  const { controller, zone } = ctx;
  const view = controller.multicluster;
  if (!view || !controller.hasNamespace(r.namespace)) return NXDOMAIN;
  if (r.service === '') return NODATA;
  const si = view.serviceImport(r.namespace, r.service);
  if (!si) return NXDOMAIN;
  const svcName = `${si.name}.${si.namespace}.svc.${zone}`;
  const portQuery = r.port !== '' || wantPorts;
  const items: Item[] = [];
  if (si.headless || r.endpoint !== '') {
    for (const ep of view.endpoints(si.namespace, si.name)) {
      const label = endpointName(ep.ip, ep.hostname);
      if (r.endpoint !== '' && (label !== r.endpoint || ep.clusterId.toLowerCase() !== r.cluster)) continue;
      const target = `${label}.${ep.clusterId}.${svcName}`;
      if (!portQuery) items.push({ host: ep.ip, isName: false, port: 0, target });
      else for (const p of ep.ports) if (matchPort(p, r)) items.push({ host: ep.ip, isName: false, port: p.port, target });
    }
  } else {
    const ports = si.ports.filter((p) => matchPort(p, r));
    for (const ip of si.ips) {
      if (!portQuery && ports.length > 0) items.push({ host: ip, isName: false, port: 0, target: svcName });
      else if (portQuery) for (const p of ports) items.push({ host: ip, isName: false, port: p.port, target: svcName });
    }
  }
  return items.length ? { kind: 'found', items } : NXDOMAIN;
}

/** matchPort: an absent port label (SRV without `_port._proto`) matches every port, named or not. */
function matchPort(p: DnsPort, r: RecordRequest): boolean {
  if (r.port === '') return true;
  return p.name !== '' && p.name.toLowerCase() === r.port && p.protocol === r.protocol;
}

/** lookupPTR lists the names of an address: services with that ClusterIP, then endpoints with it. */
export function lookupPTR(ip: string, ctx: LookupContext): string[] {
  const { controller, zone } = ctx;
  const names = new Set<string>();
  for (const svc of controller.servicesByClusterIP(ip)) names.add(`${svc.name}.${svc.namespace}.svc.${zone}`);
  for (const { service, endpoint } of controller.endpointsByIP(ip)) {
    if (!endpoint.ready && !service.publishNotReady) continue;
    names.add(`${endpointName(endpoint.ip, endpoint.hostname)}.${service.name}.${service.namespace}.svc.${zone}`);
  }
  return [...names];
}

/** ipFamily returns 4, 6 or 0 (not an address). */
export function ipFamily(host: string): 0 | 4 | 6 {
  return isIP(host) as 0 | 4 | 6;
}
