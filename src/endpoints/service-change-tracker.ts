import type { Service } from 'kubernetes-types/core/v1.js';
import { canonicalIPs, parseCIDRSloppy } from '../util/sloppy-ip.ts';
import { cidrFamily, familyOf, type IPFamily } from './node-port-addresses.ts';
import { servicePortKey } from './proxy-state.ts';
import type { Protocol, ServicePort, ServiceType, TrafficPolicy } from './proxy-state.ts';
import { SnapshotMap } from './snapshot-map.ts';

/** DEFAULT_AFFINITY_TIMEOUT_SECONDS is the apiserver's ClientIP affinity default (3 hours). */
const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

/**
 * ofFamily keeps the addresses of one proxy's family, as kube-proxy's
 * per-family change trackers do (a dual-stack node runs one proxier per
 * family). Addresses are first read as kube-proxy reads them (canonicalIPs:
 * leading zeros are decimal) and kept in canonical form; one that is not an
 * address would fail the whole restore or transaction, every service with
 * it, so it is dropped here.
 */
const ofFamily = (family: IPFamily) => (ip: string): boolean => familyOf(ip) === family;

/**
 * loadBalancerVIPs are the ingress IPs a proxy serves: those whose ipMode is
 * VIP or unset, as kube-proxy takes them since LoadBalancerIPMode (GA in
 * 1.32). A Proxy-mode load balancer delivers traffic to the node or pod
 * address itself; capturing its IP on the node would send pods' traffic to
 * it past the load balancer (and its PROXY protocol or TLS).
 */
function loadBalancerVIPs(svc: Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && (i.ipMode ?? 'VIP') === 'VIP').map((i) => i.ip!);
}

/** serviceName is the NamespacedName string `ns/name` trackers key services by. */
export function serviceName(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/**
 * servicePorts converts a Service into the ServicePorts a proxy of one IP
 * family programs, keyed `ns/name:portName`. Like kube-proxy's
 * ShouldSkipService, headless (clusterIP None), ExternalName and services
 * without a cluster IP of the family give an empty map; external and load
 * balancer IPs and source ranges of the other family are left out (so, as in
 * kube-proxy, ranges only of the other family leave this one unfiltered), and
 * a zero-masked range (0.0.0.0/0, ::/0) means "allow any", as none does.
 * The ServicePort objects are frozen.
 */
export function servicePorts(svc: Service | undefined, family: IPFamily = 4): Map<string, ServicePort> {
  const ports = new Map<string, ServicePort>();
  const spec = svc?.spec;
  if (!svc || !spec || spec.type === 'ExternalName') return ports;
  const isOfFamily = ofFamily(family);
  const clusterIPs = canonicalIPs(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter(isOfFamily);
  if (spec.clusterIP === 'None' || clusterIPs.length === 0) return ports;
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const type: ServiceType = spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? spec.type : 'ClusterIP';
  const externalTrafficPolicy: TrafficPolicy = spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const shared = {
    namespace, name, type, clusterIPs: Object.freeze(clusterIPs),
    externalIPs: Object.freeze(canonicalIPs(spec.externalIPs ?? []).filter(isOfFamily)),
    loadBalancerIPs: Object.freeze(canonicalIPs(loadBalancerVIPs(svc)).filter(isOfFamily)),
    loadBalancerSourceRanges: Object.freeze(sourceRanges(spec.loadBalancerSourceRanges ?? [], family)),
    sessionAffinity: Object.freeze(spec.sessionAffinity === 'ClientIP'
      ? { type: 'ClientIP' as const, timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS }
      : { type: 'None' as const }),
    externalTrafficPolicy,
    internalTrafficPolicy: (spec.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster') as TrafficPolicy,
    healthCheckNodePort: type === 'LoadBalancer' && externalTrafficPolicy === 'Local' ? (spec.healthCheckNodePort ?? 0) : 0,
  };
  for (const p of spec.ports ?? []) {
    const portName = p.name ?? '';
    const key = servicePortKey(namespace, name, portName);
    ports.set(key, Object.freeze({ key, portName, protocol: (p.protocol ?? 'TCP') as Protocol, port: p.port, nodePort: p.nodePort ?? 0, ...shared }));
  }
  return ports;
}

function samePorts(a: ReadonlyMap<string, ServicePort>, b: ReadonlyMap<string, ServicePort>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, pa] of a) {
    const pb = b.get(key);
    if (!pb || JSON.stringify(pa) !== JSON.stringify(pb)) return false;
  }
  return true;
}

interface ServiceChange {
  previous: Map<string, ServicePort>;
  current: Map<string, ServicePort>;
}

/**
 * ServiceChangeTracker collects Service changes between syncs as kube-proxy
 * does: per service the first `previous` and the latest `current` port map;
 * a service whose net change is nothing is dropped.
 */
export class ServiceChangeTracker {
  readonly #items = new Map<string, ServiceChange>();
  readonly #family: IPFamily;

  constructor(family: IPFamily = 4) {
    this.#family = family;
  }

  /** update records a change (undefined previous: add; undefined current: delete); returns whether changes are pending. */
  update(previous: Service | undefined, current: Service | undefined): boolean {
    const name = serviceName((current ?? previous)!);
    let change = this.#items.get(name);
    if (!change) {
      change = { previous: servicePorts(previous, this.#family), current: new Map() };
      this.#items.set(name, change);
    }
    change.current = servicePorts(current, this.#family);
    if (samePorts(change.previous, change.current)) this.#items.delete(name);
    return this.#items.size > 0;
  }

  /** pendingCount is how many services have changes not yet applied. */
  pendingCount(): number {
    return this.#items.size;
  }

  /** checkout hands the pending changes over and forgets them. */
  checkout(): Map<string, ServiceChange> {
    const items = new Map(this.#items);
    this.#items.clear();
    return items;
  }
}

/** ServiceUpdateResult says what applying service changes did. */
export interface ServiceUpdateResult {
  /** Service port keys added, removed or modified. */
  readonly changedPorts: Set<string>;
  /** Cluster IPs of UDP service ports that were removed (their conntrack entries go stale). */
  readonly deletedUDPClusterIPs: Set<string>;
}

/** ServicePortMap is the applied state: every service port this proxy knows, by key. */
export class ServicePortMap {
  readonly ports = new SnapshotMap<ServicePort>();

  apply(tracker: ServiceChangeTracker): ServiceUpdateResult {
    const result: ServiceUpdateResult = { changedPorts: new Set(), deletedUDPClusterIPs: new Set() };
    for (const change of tracker.checkout().values()) {
      for (const [key, old] of change.previous) {
        if (change.current.has(key)) continue;
        this.ports.delete(key);
        result.changedPorts.add(key);
        if (old.protocol === 'UDP') for (const ip of old.clusterIPs) result.deletedUDPClusterIPs.add(ip);
      }
      for (const [key, port] of change.current) {
        const old = change.previous.get(key);
        if (!old || JSON.stringify(old) !== JSON.stringify(port)) result.changedPorts.add(key);
        this.ports.set(key, port);
      }
    }
    return result;
  }
}

/** sourceRanges keeps the family's loadBalancerSourceRanges (trimmed: kube's validation allows padding); a zero-masked one allows any. */
function sourceRanges(ranges: readonly string[], family: IPFamily): string[] {
  // Read as kube-proxy reads them (ParseCIDRSloppy), host bits cleared as its IPNet.String writes them.
  const mine = ranges.map((r) => parseCIDRSloppy(r.trim())).filter((r): r is string => r !== undefined && cidrFamily(r) === family);
  return mine.some((r) => r.endsWith('/0')) ? [] : mine;
}
