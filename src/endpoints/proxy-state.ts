/**
 * ProxyState is the immutable snapshot every proxy backend syncs from: the
 * service ports this node must program and their endpoints, plus what changed
 * since the last successful sync. It is built by the watcher (change trackers
 * → snapshot) and never mutated afterwards; backends must not mutate it.
 *
 * Keys are kube-proxy's ServicePortName strings: `ns/name:portName`, or
 * `ns/name` for an unnamed port (so chain hashes and comments match kube-proxy's).
 */
import type { IPFamily } from './node-port-addresses.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export type TrafficPolicy = 'Cluster' | 'Local';

export type SessionAffinity = { type: 'None' } | { type: 'ClientIP'; timeoutSeconds: number };

/** ServicePort is one port of one Service, as a proxy programs it. */
export interface ServicePort {
  /** `ns/name:portName`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly type: ServiceType;
  /** spec.clusterIPs of this proxy's IP family; empty for headless services (which proxies skip). */
  readonly clusterIPs: readonly string[];
  readonly port: number;
  /** 0 when the port has no node port. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** IPs of status.loadBalancer.ingress. */
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  readonly sessionAffinity: SessionAffinity;
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /** 0 unless type LoadBalancer with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number;
}

/** Endpoint is one backend of a service port, merged from the service's EndpointSlices. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /** conditions.ready (nil counts as true). */
  readonly ready: boolean;
  /** conditions.serving (nil counts as ready). */
  readonly serving: boolean;
  /** conditions.terminating (nil counts as false). */
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hostname?: string;
  /** nodeName equals this proxy's node name. */
  readonly isLocal: boolean;
}

/** UdpConntrackWork says which stale UDP conntrack entries a backend should flush after a sync. */
export interface UdpConntrackWork {
  /** Endpoints (ip:port) that went away or stopped being usable, per service port key. */
  readonly deletedEndpoints: ReadonlyArray<{ readonly serviceKey: string; readonly endpoint: string }>;
  /** UDP service ports that went from 0 to more than 0 usable endpoints. */
  readonly newlyActiveServices: ReadonlySet<string>;
  /**
   * Cluster IPs of UDP service ports that were removed (kube-proxy's
   * DeletedUDPClusterIPs): flush UDP entries to them. Optional so snapshots
   * written by hand in tests need not list it; the watcher always sets it.
   */
  readonly deletedClusterIPs?: ReadonlySet<string>;
}

export interface ProxyState {
  /**
   * The IP family this snapshot holds (kube-proxy runs one proxier per
   * family): only its cluster, external and load balancer IPs and its
   * EndpointSlices. Undefined means 4 (snapshots written by hand in tests).
   */
  readonly ipFamily?: IPFamily;
  /** Name of the node this proxy runs on (`--hostname-override` or the hostname). */
  readonly nodeName: string;
  /** Labels of this node's Node object (zone, hints); empty before it is seen. */
  readonly nodeLabels: Readonly<Record<string, string>>;
  /**
   * This node's primary IPs from its Node object (nodeHostIPs: InternalIP,
   * else ExternalIP, one per family), for `--nodeport-addresses primary`.
   * Undefined or empty before the Node is seen.
   */
  readonly nodeIPs?: readonly string[];
  readonly services: ReadonlyMap<string, ServicePort>;
  /** All known endpoints per service port key, before selection by traffic policy. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Service port keys whose service or endpoints changed since the last successful sync. */
  readonly changed: ReadonlySet<string>;
  readonly udpConntrack: UdpConntrackWork;
  /**
   * Per service port key, the earliest `endpoints.kubernetes.io/last-change-trigger-time`
   * (ms since epoch) behind the pending changes, for the network programming latency metric.
   */
  readonly triggerTimes: ReadonlyMap<string, number>;
}

/** servicePortKey builds kube-proxy's ServicePortName string: `ns/name:port`, or `ns/name` when the port is unnamed. */
export function servicePortKey(namespace: string, name: string, portName: string): string {
  return portName === '' ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
}

/** serviceOfPortKey turns a service port key into its service's `ns/name` (names and port names hold no colon). */
export function serviceOfPortKey(key: string): string {
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(0, colon);
}
