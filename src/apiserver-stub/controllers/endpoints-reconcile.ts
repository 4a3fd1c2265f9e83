import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service } from 'kubernetes-types/core/v1.js';
import { isPodReady, podHostname, portsKey, resolvePorts, servicePods, shouldPodBeInEndpoints } from './pod-endpoint.ts';

/**
 * The legacy Endpoints controller's reconciler as a pure function
 * (kube-controller-manager `endpointscontroller.syncService` + `RepackSubsets`):
 * one Endpoints object named as the Service, subsets grouped by resolved port
 * set, ready pods in `addresses` and the others in `notReadyAddresses`.
 * Unlike EndpointSlices, terminating pods are left out unless the Service
 * publishes not-ready addresses. Above 1000 addresses the object is truncated
 * (ready addresses kept first) and annotated `over-capacity: truncated`.
 */

export const MAX_ENDPOINTS_ADDRESSES = 1000;
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** LABEL_SKIP_MIRROR tells the EndpointSlice mirroring controller this object is controller-made. */
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';

interface Group {
  ports: EndpointPort[];
  ready: EndpointAddress[];
  notReady: EndpointAddress[];
}

function address(pod: Pod, service: Service): EndpointAddress {
  const a: EndpointAddress = { ip: pod.status!.podIP! };
  const hostname = podHostname(pod, service);
  if (hostname) a.hostname = hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  return a;
}

const byIP = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);

/** truncate keeps at most `max` addresses over all groups, ready ones first, in group order. */
function truncate(groups: Group[], max: number): boolean {
  const total = groups.reduce((n, g) => n + g.ready.length + g.notReady.length, 0);
  if (total <= max) return false;
  let room = max;
  for (const g of groups) {
    g.ready = g.ready.slice(0, room);
    room -= g.ready.length;
  }
  for (const g of groups) {
    g.notReady = g.notReady.slice(0, room);
    room -= g.notReady.length;
  }
  return true;
}

/** desiredEndpoints computes the Endpoints object for a Service that has a selector. */
export function desiredEndpoints(service: Service, pods: readonly Pod[], maxAddresses = MAX_ENDPOINTS_ADDRESSES): Endpoints {
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, Group>();
  for (const pod of servicePods(service, pods)) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady) || pod.status!.podIP!.includes(':')) continue;
    const resolved = resolvePorts(service, pod);
    if (resolved.length === 0 && (service.spec?.ports ?? []).length > 0) continue;
    const key = portsKey(resolved);
    let g = groups.get(key);
    if (!g) {
      g = { ports: resolved.map(({ name, port, protocol, appProtocol }) => ({ name: name || undefined, port, protocol, ...(appProtocol ? { appProtocol } : {}) })), ready: [], notReady: [] };
      groups.set(key, g);
    }
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(address(pod, service));
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
  for (const g of ordered) {
    g.ready.sort(byIP);
    g.notReady.sort(byIP);
  }
  const truncated = truncate(ordered, maxAddresses);
  const subsets: EndpointSubset[] = ordered
    .filter((g) => g.ready.length + g.notReady.length > 0)
    .map((g) => ({
      ...(g.ready.length > 0 ? { addresses: g.ready } : {}),
      ...(g.notReady.length > 0 ? { notReadyAddresses: g.notReady } : {}),
      ...(g.ports.length > 0 ? { ports: g.ports.map((p) => (p.name === undefined ? { port: p.port, protocol: p.protocol } : p)) } : {}),
    }));
  const labels: Record<string, string> = { ...service.metadata?.labels, [LABEL_SKIP_MIRROR]: 'true' };
  if (service.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  const metadata: Endpoints['metadata'] = { name: service.metadata?.name, namespace: service.metadata?.namespace, labels };
  if (truncated) metadata.annotations = { [ANNOTATION_OVER_CAPACITY]: 'truncated' };
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}

/** endpointsNeedUpdate tells whether the stored object differs from the desired one in what the controller owns. */
export function endpointsNeedUpdate(current: Endpoints, desired: Endpoints): boolean {
  const norm = (e: Endpoints) =>
    JSON.stringify([
      sortedEntries(e.metadata?.labels),
      e.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] ?? '',
      (e.subsets ?? []).map((s) => [addrKeys(s.addresses), addrKeys(s.notReadyAddresses), (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? ''])]),
    ]);
  return norm(current) !== norm(desired);
}

function sortedEntries(m: Readonly<Record<string, string>> | undefined): [string, string][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
}

function addrKeys(list: EndpointAddress[] | undefined): string[] {
  return (list ?? []).map((a) => [a.ip, a.hostname ?? '', a.nodeName ?? '', a.targetRef?.name ?? '', a.targetRef?.uid ?? ''].join('|'));
}
