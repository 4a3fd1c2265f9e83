import type { DnsServiceImport, McEndpointSlice } from './multicluster.ts';
import type { DnsEndpoint, DnsEndpointSlice, DnsPod, DnsPort, DnsService } from './object.ts';

/*
 * Whether an update changes any answer (CoreDNS controller.go's
 * serviceModified, endpointsEquivalent, podModified). The index skips
 * updates that do not: the SOA serial stays, and the prebuilt answers are
 * kept, when an informer reports a status, label or readiness-gate change
 * that no record shows.
 */

function portsEqual(a: readonly DnsPort[], b: readonly DnsPort[]): boolean {
  return a === b || (a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.port === b[i]!.port && p.protocol === b[i]!.protocol));
}

function listEqual<T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => eq(x, b[i]!));
}

/** servicesEquivalent: every field a record is made from is the same. */
export function servicesEquivalent(a: DnsService, b: DnsService): boolean {
  return a.kind === b.kind && a.externalName === b.externalName && a.publishNotReady === b.publishNotReady &&
    listEqual(a.clusterIPs, b.clusterIPs, (x, y) => x === y) && portsEqual(a.ports, b.ports);
}

const NO_EXTERNAL: readonly string[] = [];

/**
 * externalChanged: whether an update changes the `k8s_external` zone
 * (CoreDNS serviceModified's second result): a Service with external
 * addresses added or deleted, its external addresses changed, or its ports.
 * undefined stands for no Service.
 */
export function externalChanged(a: DnsService | undefined, b: DnsService | undefined): boolean {
  const ea = a?.externalIPs ?? NO_EXTERNAL;
  const eb = b?.externalIPs ?? NO_EXTERNAL;
  if (!a || !b) return ea.length > 0 || eb.length > 0;
  return !listEqual(ea, eb, (x, y) => x === y) || !portsEqual(a.ports, b.ports);
}

function endpointsEqual(a: DnsEndpoint, b: DnsEndpoint): boolean {
  return a.ip === b.ip && a.hostname === b.hostname && a.ready === b.ready && a.podName === b.podName && a.zone === b.zone && portsEqual(a.ports, b.ports);
}

/** slicesEquivalent: the same Service's slice with the same endpoints (address, name, readiness, pod, zone, ports), in order. */
export function slicesEquivalent(a: DnsEndpointSlice, b: DnsEndpointSlice): boolean {
  return a.namespace === b.namespace && a.service === b.service && listEqual(a.endpoints, b.endpoints, endpointsEqual);
}

/** importsEquivalent: a ServiceImport's type, IPs and ports (CoreDNS serviceImportEquivalent). */
export function importsEquivalent(a: DnsServiceImport, b: DnsServiceImport): boolean {
  return a.headless === b.headless && listEqual(a.ips, b.ips, (x, y) => x === y) && portsEqual(a.ports, b.ports);
}

/** mcSlicesEquivalent: slicesEquivalent, and each endpoint from the same cluster (CoreDNS multiclusterEndpointsEquivalent). */
export function mcSlicesEquivalent(a: McEndpointSlice, b: McEndpointSlice): boolean {
  return a.namespace === b.namespace && a.service === b.service && listEqual(a.endpoints, b.endpoints, (x, y) => x.clusterId === y.clusterId && endpointsEqual(x, y));
}

/** podsEquivalent: the same namespace and addresses (all `--pods verified` asks of a pod). */
export function podsEquivalent(a: DnsPod, b: DnsPod): boolean {
  return a.namespace === b.namespace && listEqual(a.ips, b.ips, (x, y) => x === y);
}
