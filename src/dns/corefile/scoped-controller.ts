import type { DnsController, EndpointRef } from '../controller.ts';
import type { DnsEndpoint, DnsService } from '../object.ts';
import type { KubernetesConfig } from './plugins.ts';

const NO_ENDPOINTS: readonly DnsEndpoint[] = [];
const NO_REFS: readonly EndpointRef[] = [];

/**
 * scopedController applies `kubernetes { namespaces, noendpoints }` to the
 * shared index: names in namespaces not listed do not exist (NXDOMAIN), and
 * with noendpoints no endpoint is seen, so endpoint and headless names are
 * NXDOMAIN, as CoreDNS answers when it does not watch endpoints.
 */
export function scopedController(inner: DnsController, k: KubernetesConfig): DnsController {
  if (k.namespaces.length === 0 && !k.noEndpoints) return inner;
  const exposed = k.namespaces.length === 0 ? () => true : (ns: string) => k.namespaces.includes(ns);
  return {
    hasSynced: () => inner.hasSynced(),
    modified: () => inner.modified(),
    hasNamespace: (ns) => exposed(ns) && inner.hasNamespace(ns),
    service: (ns, name) => (exposed(ns) ? inner.service(ns, name) : undefined),
    endpoints: (ns, service) => (k.noEndpoints || !exposed(ns) ? NO_ENDPOINTS : inner.endpoints(ns, service)),
    servicesByClusterIP: (ip) => inner.servicesByClusterIP(ip).filter((s: DnsService) => exposed(s.namespace)),
    endpointsByIP: (ip) => (k.noEndpoints ? NO_REFS : inner.endpointsByIP(ip).filter((r) => exposed(r.service.namespace))),
    hasPod: (ns, ip) => exposed(ns) && inner.hasPod(ns, ip),
    onChange: (listener) => inner.onChange(listener),
  };
}
