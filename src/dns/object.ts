/**
 * Slim projections of the API objects the DNS server watches. The watch
 * caches hold only these, never whole objects: adding a field here costs
 * memory for every Service, endpoint and Pod in the cluster (CoreDNS's OOMs
 * at scale, coredns#2095, kubernetes#139117, came from fat caches). Add a
 * field only when a record needs it.
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';

export interface DnsPort {
  /** '' for an unnamed port (no SRV record). */
  name: string;
  /** Lower case: 'tcp', 'udp', 'sctp'. */
  protocol: string;
  port: number;
}

export type ServiceKind = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface DnsService {
  namespace: string;
  name: string;
  kind: ServiceKind;
  /** ClusterIPs of a ClusterIP service; empty otherwise. */
  clusterIPs: string[];
  /** Lower case, no trailing dot; '' unless ExternalName. */
  externalName: string;
  ports: DnsPort[];
  /** publishNotReadyAddresses, or the tolerate-unready-endpoints annotation. */
  publishNotReady: boolean;
}

export interface DnsEndpoint {
  ip: string;
  /** EndpointSlice hostname (set from a pod's hostname+subdomain), if any. */
  hostname: string | undefined;
  /** conditions.ready, nil counting as ready. */
  ready: boolean;
  /** Shared by every endpoint of one slice. */
  ports: DnsPort[];
}

/** DnsEndpointSlice is one slice's endpoints, keyed by the service it belongs to. */
export interface DnsEndpointSlice {
  namespace: string;
  name: string;
  service: string;
  endpoints: DnsEndpoint[];
}

export interface DnsPod {
  namespace: string;
  name: string;
  ips: string[];
}

const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';

export function toDnsService(svc: Service): DnsService {
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip !== '' && ip !== 'None');
  const kind: ServiceKind = type === 'ExternalName' ? 'ExternalName' : ips.length === 0 ? 'Headless' : 'ClusterIP';
  return {
    namespace: svc.metadata?.namespace ?? 'default',
    name: svc.metadata?.name ?? '',
    kind,
    clusterIPs: kind === 'ClusterIP' ? ips : [],
    externalName: kind === 'ExternalName' ? (spec.externalName ?? '').toLowerCase().replace(/\.$/, '') : '',
    ports: (spec.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port })),
    publishNotReady: spec.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === 'true',
  };
}

export function toDnsEndpointSlice(slice: EndpointSlice): DnsEndpointSlice | undefined {
  const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return undefined;
  const ports = (slice.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port ?? 0 }));
  const endpoints: DnsEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    for (const ip of ep.addresses ?? []) {
      endpoints.push({ ip, hostname: ep.hostname || undefined, ready: ep.conditions?.ready !== false, ports });
    }
  }
  return { namespace: slice.metadata?.namespace ?? 'default', name: slice.metadata?.name ?? '', service, endpoints };
}

export function toDnsPod(pod: Pod): DnsPod {
  const ips = pod.status?.podIPs?.map((p) => p.ip).filter((ip): ip is string => !!ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return { namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '', ips };
}

/*
 * Informer transforms: what the watch caches keep of each object. They hold
 * the fields the projections above read and the metadata the informer
 * needs (name, namespace, resourceVersion); nothing else.
 */

type Meta = { name?: string; namespace?: string; resourceVersion?: string };
const meta = (m: Meta | undefined): Meta => ({ name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion });

export function slimService(svc: Service): Service {
  const spec = svc.spec ?? {};
  const tolerate = svc.metadata?.annotations?.[TOLERATE_UNREADY];
  return {
    metadata: { ...meta(svc.metadata), ...(tolerate ? { annotations: { [TOLERATE_UNREADY]: tolerate } } : {}) },
    spec: {
      type: spec.type,
      clusterIP: spec.clusterIP,
      clusterIPs: spec.clusterIPs,
      externalName: spec.externalName,
      publishNotReadyAddresses: spec.publishNotReadyAddresses,
      ports: spec.ports?.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    },
  };
}

export function slimEndpointSlice(slice: EndpointSlice, keepAnnotation: string): EndpointSlice {
  const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
  const trigger = slice.metadata?.annotations?.[keepAnnotation];
  return {
    metadata: { ...meta(slice.metadata), ...(service ? { labels: { 'kubernetes.io/service-name': service } } : {}), ...(trigger ? { annotations: { [keepAnnotation]: trigger } } : {}) },
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((e) => ({ addresses: e.addresses, hostname: e.hostname, conditions: { ready: e.conditions?.ready } })),
    ports: slice.ports?.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
  };
}

export function slimPod(pod: Pod): Pod {
  return { metadata: meta(pod.metadata), status: { podIP: pod.status?.podIP, podIPs: pod.status?.podIPs?.map((p) => ({ ip: p.ip })) } };
}

export function slimMeta<T extends { metadata?: Meta }>(obj: T): T {
  return { metadata: meta(obj.metadata) } as T;
}
