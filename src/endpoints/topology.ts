import type { Endpoint, ServicePort } from './proxy-state.ts';

/**
 * CategorizedEndpoints is kube-proxy's CategorizeEndpoints result.
 * `cluster` is undefined when the service never uses cluster-wide endpoints
 * (both policies Local), `local` is undefined when it never uses local ones;
 * an empty array means "uses them, but there are none".
 */
export interface CategorizedEndpoints {
  readonly cluster: readonly Endpoint[] | undefined;
  readonly local: readonly Endpoint[] | undefined;
  /** Every endpoint some traffic to this service may reach (for conntrack and health). */
  readonly allReachable: readonly Endpoint[];
  /** Whether any usable endpoint exists anywhere, local or not: decides REJECT vs DROP. */
  readonly hasAnyEndpoints: boolean;
}

/** externallyAccessible: the service port has node ports, external IPs or load balancer IPs. */
export function externallyAccessible(svc: ServicePort): boolean {
  return svc.nodePort > 0 || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0;
}

/**
 * usesClusterEndpoints: as kube-proxy's UsesClusterEndpoints, true for
 * iTP Cluster or any externally accessible port: even with eTP Local, pod
 * and node traffic to external addresses short-circuits to cluster endpoints.
 */
export function usesClusterEndpoints(svc: ServicePort): boolean {
  return svc.internalTrafficPolicy === 'Cluster' || externallyAccessible(svc);
}

export function usesLocalEndpoints(svc: ServicePort): boolean {
  return svc.internalTrafficPolicy === 'Local' || (externallyAccessible(svc) && svc.externalTrafficPolicy === 'Local');
}

const readyOrFallback = (eps: readonly Endpoint[]): Endpoint[] => {
  const ready = eps.filter((ep) => ep.ready);
  // With nothing ready, traffic goes to endpoints that still serve while terminating
  // (KEP-1669), so rolling updates of the last pods do not black-hole connections.
  return ready.length > 0 ? ready : eps.filter((ep) => ep.serving && ep.terminating);
};

/**
 * categorizeEndpoints selects the endpoints each kind of traffic may use, as
 * kube-proxy does (without topology hints): ready endpoints, falling back to
 * serving-terminating ones, filtered to this node for Local policies.
 */
export function categorizeEndpoints(svc: ServicePort, endpoints: readonly Endpoint[]): CategorizedEndpoints {
  const cluster = usesClusterEndpoints(svc) ? readyOrFallback(endpoints) : undefined;
  const hasAnyEndpoints = endpoints.some((ep) => ep.ready || (ep.serving && ep.terminating));
  if (!usesLocalEndpoints(svc)) return { cluster, local: undefined, allReachable: cluster ?? [], hasAnyEndpoints };
  const local = readyOrFallback(endpoints.filter((ep) => ep.isLocal));
  if (!cluster) return { cluster, local, allReachable: local, hasAnyEndpoints };
  // Local may hold terminating endpoints that cluster does not, so merge the two lists.
  const seen = new Set(cluster.map((ep) => `${ep.ip}:${ep.port}`));
  const allReachable = [...cluster, ...local.filter((ep) => !seen.has(`${ep.ip}:${ep.port}`))];
  return { cluster, local, allReachable, hasAnyEndpoints };
}

/** NoLocalEndpoints counts services whose Local policy finds endpoints elsewhere but none on this node. */
export interface NoLocalEndpoints {
  readonly internal: number;
  readonly external: number;
}

/**
 * countNoLocalEndpoints is what kube-proxy publishes as
 * sync_proxy_rules_no_local_endpoints_total after each sync: traffic under
 * such a policy is dropped on this node, while a service with no endpoints
 * at all (rejected everywhere) is not counted. Headless services have no rules.
 */
export function countNoLocalEndpoints(services: Iterable<ServicePort>, endpointsOf: (key: string) => readonly Endpoint[]): NoLocalEndpoints {
  let internal = 0;
  let external = 0;
  for (const svc of services) {
    // Most services have no Local policy: skip them before categorizing, on every sync's path.
    if (svc.clusterIPs.length === 0 || !usesLocalEndpoints(svc)) continue;
    const cat = categorizeEndpoints(svc, endpointsOf(svc.key));
    if (!cat.hasAnyEndpoints || cat.local === undefined || cat.local.length > 0) continue;
    if (svc.internalTrafficPolicy === 'Local') internal++;
    if (svc.externalTrafficPolicy === 'Local' && externallyAccessible(svc)) external++;
  }
  return { internal, external };
}
