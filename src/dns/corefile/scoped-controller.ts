import type { DnsController, EndpointRef } from '../controller.ts';
import type { DnsEndpoint, DnsService } from '../object.ts';
import type { KubernetesConfig } from './kubernetes.ts';

const NO_ENDPOINTS: readonly DnsEndpoint[] = [];
const NO_REFS: readonly EndpointRef[] = [];

/**
 * scopedController applies `kubernetes { namespaces, noendpoints }` to the
 * shared index: names in namespaces not listed do not exist (NXDOMAIN), and
 * with noendpoints no endpoint is seen, so endpoint and headless names are
 * NXDOMAIN, as CoreDNS answers when it does not watch endpoints; with
 * endpoint_pod_names an endpoint without a hostname takes its pod's name;
 * with `ignore empty_service` a ClusterIP Service no ready endpoint serves
 * is not found (NXDOMAIN for every name under it, as CoreDNS's findServices
 * skips it), while its ClusterIP still has its PTR.
 */
export function scopedController(inner: DnsController, k: Pick<KubernetesConfig, 'namespaces' | 'noEndpoints' | 'endpointPodNames' | 'ignoreEmptyService'>): DnsController {
  if (k.namespaces.length === 0 && !k.noEndpoints && !k.endpointPodNames && !k.ignoreEmptyService) return inner;
  const exposed = k.namespaces.length === 0 ? () => true : (ns: string) => k.namespaces.includes(ns);
  // endpoint_pod_names: copies with the pod's name as hostname (only in this mode, so the index stays shared and untouched).
  const named = (e: DnsEndpoint): DnsEndpoint => (k.endpointPodNames && !e.hostname && e.podName ? { ...e, hostname: e.podName } : e);
  const endpoints = (ns: string, service: string) => (k.noEndpoints || !exposed(ns) ? NO_ENDPOINTS : k.endpointPodNames ? inner.endpoints(ns, service).map(named) : inner.endpoints(ns, service));
  return {
    hasSynced: () => inner.hasSynced(),
    modified: () => inner.modified(),
    hasNamespace: (ns) => exposed(ns) && inner.hasNamespace(ns),
    service: (ns, name) => {
      const svc = exposed(ns) ? inner.service(ns, name) : undefined;
      return svc && k.ignoreEmptyService && svc.kind === 'ClusterIP' && !endpoints(ns, name).some((e) => e.ready || svc.publishNotReady) ? undefined : svc;
    },
    // Every Service of an exposed namespace, an empty one too: CoreDNS's transfer lists them regardless of `ignore empty_service`.
    services: () => [...inner.services()].filter((s) => exposed(s.namespace)),
    endpoints,
    servicesByClusterIP: (ip) => inner.servicesByClusterIP(ip).filter((s: DnsService) => exposed(s.namespace)),
    endpointsByIP: (ip) => (k.noEndpoints ? NO_REFS : inner.endpointsByIP(ip).filter((r) => exposed(r.service.namespace)).map((r) => ({ ...r, endpoint: named(r.endpoint) }))),
    hasPod: (ns, ip) => exposed(ns) && inner.hasPod(ns, ip),
    // Imports are looked up only in namespaces hasNamespace lets through.
    ...(inner.multicluster ? { multicluster: inner.multicluster } : {}),
    onChange: (listener) => inner.onChange(listener),
  };
}
