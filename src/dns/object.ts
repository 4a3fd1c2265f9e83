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
  clusterIPs: readonly string[];
  /** Lower case, no trailing dot; '' unless ExternalName. */
  externalName: string;
  ports: readonly DnsPort[];
  /** publishNotReadyAddresses, or the tolerate-unready-endpoints annotation. */
  publishNotReady: boolean;
  /**
   * spec.externalIPs, then each LoadBalancer ingress's IP (or hostname), as
   * CoreDNS's object.Service.ExternalIPs: what `k8s_external` answers. Set
   * by toDnsService (a shared empty list when none); optional for the
   * records other sources build (ServiceImports), which have none.
   */
  externalIPs?: readonly string[];
}

export interface DnsEndpoint {
  ip: string;
  /** EndpointSlice hostname (set from a pod's hostname+subdomain), if any. */
  hostname: string | undefined;
  /** conditions.ready, nil counting as ready. */
  ready: boolean;
  /** The pod behind it, kept only for `kubernetes { endpoint_pod_names }` (see slimEndpointSlice). */
  podName?: string;
  /** Topology zone, lower case, kept only for `kubernetes { zonal }` (see slimEndpointSlice). */
  zone?: string;
  /** Shared by every endpoint of one slice. */
  ports: readonly DnsPort[];
}

/** DnsEndpointSlice is one slice's endpoints, keyed by the service it belongs to. */
export interface DnsEndpointSlice {
  namespace: string;
  name: string;
  service: string;
  endpoints: DnsEndpoint[];
}

/** DnsPod is what `--pods verified` needs of a pod: its namespace and addresses. */
export interface DnsPod {
  namespace: string;
  ips: readonly string[];
}

const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';
const NO_IPS: readonly string[] = Object.freeze([]);

export function toDnsService(svc: Service): DnsService {
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const listed = clusterIPs(svc) ?? NO_IPS;
  // The informer's slim copy holds the same list: share it unless it names no address.
  const ips = listed.every((ip) => ip !== '' && ip !== 'None') ? listed : listed.filter((ip) => ip !== '' && ip !== 'None');
  const kind: ServiceKind = type === 'ExternalName' ? 'ExternalName' : ips.length === 0 ? 'Headless' : 'ClusterIP';
  return {
    namespace: svc.metadata?.namespace ?? 'default',
    name: svc.metadata?.name ?? '',
    kind,
    clusterIPs: kind === 'ClusterIP' ? ips : NO_IPS,
    externalName: kind === 'ExternalName' ? (spec.externalName ?? '').toLowerCase().replace(/\.$/, '') : '',
    ports: internPorts(spec.ports),
    publishNotReady: spec.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === 'true',
    // Always set, so every DnsService has one shape (the lookup path stays monomorphic).
    externalIPs: externalIPs(svc) ?? NO_IPS,
  };
}

/** externalIPs lists spec.externalIPs then the LoadBalancer ingress addresses (hostname when no IP); undefined when none. */
function externalIPs(svc: Service): string[] | undefined {
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter((a) => a !== '');
  const all = [...(svc.spec?.externalIPs ?? []), ...ingress];
  return all.length > 0 ? all : undefined;
}

function clusterIPs(svc: Service): string[] | undefined {
  const spec = svc.spec;
  return spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : undefined;
}

type AnyPort = { name?: string; protocol?: string; port?: number };
const MAX_PORT_LISTS = 10_000;
const portLists = new Map<string, readonly DnsPort[]>();

/**
 * internPorts returns one shared, frozen list per distinct port list: most
 * services of a cluster list the same few ports, and a list plus an object
 * per port per service is a good part of the index at 10,000 services. The
 * table is emptied if a cluster ever has more distinct lists than it keeps
 * (lists handed out stay valid).
 */
export function internPorts(ports: readonly AnyPort[] | undefined): readonly DnsPort[] {
  const normal = (ports ?? []).map((p) => ({ name: p.name ?? '', protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port ?? 0 }));
  const key = normal.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(',');
  let list = portLists.get(key);
  if (!list) {
    if (portLists.size >= MAX_PORT_LISTS) portLists.clear();
    list = Object.freeze(normal.map((p) => Object.freeze(p)));
    portLists.set(key, list);
  }
  return list;
}

export function toDnsEndpointSlice(slice: EndpointSlice): DnsEndpointSlice | undefined {
  const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return undefined;
  const ports = internPorts(slice.ports);
  const endpoints: DnsEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    const podName = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
    // Lower case once here (CoreDNS): names arrive folded, so lookups compare without folding.
    const zone = ep.zone ? ep.zone.toLowerCase() : undefined;
    for (const ip of ep.addresses ?? []) {
      endpoints.push({ ip, hostname: ep.hostname || undefined, ready: ep.conditions?.ready !== false, ports, ...(podName ? { podName } : {}), ...(zone ? { zone } : {}) });
    }
  }
  return { namespace: slice.metadata?.namespace ?? 'default', name: slice.metadata?.name ?? '', service, endpoints };
}

export function toDnsPod(pod: Pod): DnsPod {
  return { namespace: pod.metadata?.namespace ?? 'default', ips: podIPs(pod) };
}

/** podIPs are a pod's addresses: status.podIPs, else status.podIP. */
export function podIPs(pod: Pod): string[] {
  return pod.status?.podIPs?.map((p) => p.ip).filter((ip): ip is string => !!ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
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
  // External addresses folded into spec.externalIPs (toDnsService reads them back): kept only when there are any.
  const external = externalIPs(svc);
  return {
    metadata: { ...meta(svc.metadata), ...(tolerate ? { annotations: { [TOLERATE_UNREADY]: tolerate } } : {}) },
    spec: {
      type: spec.type,
      clusterIPs: clusterIPs(svc),
      externalName: spec.externalName,
      publishNotReadyAddresses: spec.publishNotReadyAddresses,
      // Interned, and in the lower case toDnsService keeps: the index shares the same list.
      ports: internPorts(spec.ports) as DnsPort[],
      ...(external ? { externalIPs: external } : {}),
    },
  };
}

/** slimEndpointSlice keeps what the index needs; pod names (`endpoint_pod_names`) and zones (`zonal`) only when asked, since each costs memory. */
export function slimEndpointSlice(slice: EndpointSlice, keepAnnotation: string, keepPodNames = false, keepZones = false): EndpointSlice {
  const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
  const trigger = slice.metadata?.annotations?.[keepAnnotation];
  return {
    metadata: { ...meta(slice.metadata), ...(service ? { labels: { 'kubernetes.io/service-name': service } } : {}), ...(trigger ? { annotations: { [keepAnnotation]: trigger } } : {}) },
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses, hostname: e.hostname, conditions: { ready: e.conditions?.ready },
      ...(keepPodNames && e.targetRef?.kind === 'Pod' ? { targetRef: { kind: 'Pod', name: e.targetRef.name } } : {}),
      ...(keepZones && e.zone ? { zone: e.zone } : {}),
    })),
    ports: internPorts(slice.ports) as DnsPort[],
  };
}

/** slimPod keeps a single address as podIP alone: a list and an object per pod add up at 50,000 pods. */
export function slimPod(pod: Pod): Pod {
  const ips = podIPs(pod);
  return { metadata: meta(pod.metadata), status: ips.length > 1 ? { podIPs: ips.map((ip) => ({ ip })) } : { podIP: ips[0] } };
}

export function slimMeta<T extends { metadata?: Meta }>(obj: T): T {
  return { metadata: meta(obj.metadata) } as T;
}
