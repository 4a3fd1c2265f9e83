/**
 * Multi-Cluster Services (MCS API, sigs.k8s.io/mcs-api v1alpha1) as CoreDNS's
 * kubernetes plugin serves them under a `multicluster` zone
 * (plugin/kubernetes/object/serviceimport.go, multicluster_endpoint.go,
 * findMultiClusterServices in kubernetes.go): ServiceImports stand for the
 * services, and EndpointSlices labelled multicluster.kubernetes.io/service-name
 * for their endpoints, each slice from the cluster its
 * multicluster.kubernetes.io/source-cluster label names.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { importsEquivalent, mcSlicesEquivalent } from './equivalence.ts';
import type { ResourceRef } from '../client/resources.ts';
import type { KubeObject } from '../client/api-client.ts';
import { internPorts, type DnsEndpoint, type DnsPort } from './object.ts';

export const SERVICE_IMPORTS: ResourceRef = { group: 'multicluster.x-k8s.io', version: 'v1alpha1', resource: 'serviceimports', namespaced: true };
export const LABEL_SERVICE_NAME = 'multicluster.kubernetes.io/service-name';
export const LABEL_SOURCE_CLUSTER = 'multicluster.kubernetes.io/source-cluster';

/** ServiceImport is the part of the MCS API object the records need. */
export interface ServiceImport extends KubeObject {
  spec?: { type?: string; ips?: string[]; ports?: Array<{ name?: string; protocol?: string; port?: number }> };
}

export interface DnsServiceImport {
  namespace: string;
  name: string;
  /** spec.type Headless; otherwise ClusterSetIP. */
  headless: boolean;
  ips: readonly string[];
  ports: readonly DnsPort[];
}

/** McEndpoint is a ready endpoint of an imported service and the cluster it is in. */
export interface McEndpoint extends DnsEndpoint {
  clusterId: string;
}

export interface McEndpointSlice {
  namespace: string;
  name: string;
  service: string;
  endpoints: McEndpoint[];
}

export function toDnsServiceImport(si: ServiceImport): DnsServiceImport {
  return {
    namespace: si.metadata?.namespace ?? 'default',
    name: si.metadata?.name ?? '',
    headless: si.spec?.type === 'Headless',
    ips: si.spec?.ips ?? [],
    ports: internPorts(si.spec?.ports),
  };
}

/** slimServiceImport is what the informer's cache keeps. */
export function slimServiceImport(si: ServiceImport): ServiceImport {
  const m = si.metadata;
  return { metadata: { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion }, spec: { type: si.spec?.type, ips: si.spec?.ips, ports: internPorts(si.spec?.ports) as DnsPort[] } };
}

/**
 * toMcEndpointSlice reads a multicluster slice; undefined without the
 * service-name label. As CoreDNS's EndpointSliceToEndpoints, endpoints not
 * ready are left out (ServiceImports have no publishNotReadyAddresses).
 */
export function toMcEndpointSlice(slice: EndpointSlice): McEndpointSlice | undefined {
  const labels = slice.metadata?.labels ?? {};
  const service = labels[LABEL_SERVICE_NAME];
  if (!service) return undefined;
  const clusterId = labels[LABEL_SOURCE_CLUSTER] ?? '';
  const ports = internPorts(slice.ports);
  const endpoints: McEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    for (const ip of ep.addresses ?? []) endpoints.push({ ip, hostname: ep.hostname || undefined, ready: true, ports, clusterId });
  }
  return { namespace: slice.metadata?.namespace ?? 'default', name: slice.metadata?.name ?? '', service, endpoints };
}

/** slimMcEndpointSlice keeps the two labels, the addresses, hostnames, readiness and ports. */
export function slimMcEndpointSlice(slice: EndpointSlice): EndpointSlice {
  const m = slice.metadata;
  const labels = Object.fromEntries([LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER].flatMap((l) => (m?.labels?.[l] !== undefined ? [[l, m.labels[l]]] : [])));
  return {
    metadata: { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, labels },
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((e) => ({ addresses: e.addresses, hostname: e.hostname, conditions: { ready: e.conditions?.ready } })),
    ports: internPorts(slice.ports) as DnsPort[],
  };
}

const key = (ns: string, name: string) => [ns, name].join('/');
const NONE: readonly never[] = Object.freeze([]);

/** MultiClusterView is what the answering code asks of the multicluster objects. */
export interface MultiClusterView {
  /** hasSynced: ServiceImports and multicluster slices have listed (never, while the ServiceImport CRD is absent). */
  hasSynced(): boolean;
  /** modified is the time of the last multicluster change, Unix seconds (the multicluster zone's SOA serial). */
  modified(): number;
  serviceImport(ns: string, name: string): DnsServiceImport | undefined;
  /** serviceImports lists every ServiceImport, in no particular order (zone transfers). */
  serviceImports(): Iterable<DnsServiceImport>;
  /** endpoints lists the ready endpoints of every slice of the imported service. */
  endpoints(ns: string, service: string): readonly McEndpoint[];
}

/** MultiClusterIndex holds ServiceImports and multicluster slices, fed by informers or tests. */
export class MultiClusterIndex implements MultiClusterView {
  readonly #imports = new Map<string, DnsServiceImport>();
  /** Slices per service key, by slice name; the owner of each slice key. */
  readonly #slices = new Map<string, Map<string, McEndpointSlice>>();
  readonly #sliceOwner = new Map<string, string>();
  /** Ready endpoints per service key, flattened when one of its slices changes (as RecordIndex's), not on every lookup. */
  readonly #endpoints = new Map<string, McEndpoint[]>();
  readonly #onChange: () => void;
  #synced = false;
  #modified = Math.floor(Date.now() / 1000);

  /** `onChange` is told of every change (the handler's prebuilt answers are then dropped). */
  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  markSynced(): void {
    this.#synced = true;
    this.#changed();
  }

  modified(): number {
    return this.#modified;
  }

  serviceImport(ns: string, name: string): DnsServiceImport | undefined {
    return this.#imports.get(key(ns, name));
  }

  serviceImports(): Iterable<DnsServiceImport> {
    return this.#imports.values();
  }

  endpoints(ns: string, service: string): readonly McEndpoint[] {
    return this.#endpoints.get(key(ns, service)) ?? NONE;
  }

  setServiceImport(si: DnsServiceImport): void {
    const old = this.#imports.get(key(si.namespace, si.name));
    if (old && importsEquivalent(old, si)) return;
    this.#imports.set(key(si.namespace, si.name), si);
    this.#changed();
  }

  deleteServiceImport(ns: string, name: string): void {
    if (this.#imports.delete(key(ns, name))) this.#changed();
  }

  setEndpointSlice(slice: McEndpointSlice): void {
    const filedUnder = this.#sliceOwner.get(key(slice.namespace, slice.name));
    const old = filedUnder === key(slice.namespace, slice.service) ? this.#slices.get(filedUnder)?.get(slice.name) : undefined;
    if (old && mcSlicesEquivalent(old, slice)) return;
    this.#unlink(slice.namespace, slice.name);
    const owner = key(slice.namespace, slice.service);
    let slices = this.#slices.get(owner);
    if (!slices) this.#slices.set(owner, (slices = new Map()));
    slices.set(slice.name, slice);
    this.#sliceOwner.set(key(slice.namespace, slice.name), owner);
    this.#flatten(owner);
    this.#changed();
  }

  deleteEndpointSlice(ns: string, name: string): void {
    if (this.#unlink(ns, name)) this.#changed();
  }

  /** #unlink drops a slice from the service it was filed under (a relabelled slice moves). */
  #unlink(ns: string, name: string): boolean {
    const sk = key(ns, name);
    const owner = this.#sliceOwner.get(sk);
    if (owner === undefined) return false;
    this.#sliceOwner.delete(sk);
    const slices = this.#slices.get(owner);
    slices?.delete(name);
    if (slices?.size === 0) this.#slices.delete(owner);
    this.#flatten(owner);
    return true;
  }

  #flatten(owner: string): void {
    const slices = this.#slices.get(owner);
    if (slices) this.#endpoints.set(owner, [...slices.values()].flatMap((s) => s.endpoints));
    else this.#endpoints.delete(owner);
  }

  #changed(): void {
    this.#modified = Math.floor(Date.now() / 1000);
    this.#onChange();
  }
}
