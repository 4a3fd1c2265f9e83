import { externalChanged, podsEquivalent, servicesEquivalent, slicesEquivalent } from './equivalence.ts';
import type { ChangeKind, DnsController, EndpointRef } from './controller.ts';
import { MultiClusterIndex } from './multicluster.ts';
import type { DnsEndpoint, DnsEndpointSlice, DnsPod, DnsService } from './object.ts';

/** A flat string: a template literal would keep a cons string and a copy of `ns/` per key. */
const key = (ns: string, name: string) => [ns, name].join('/');
const NO_ENDPOINTS: readonly DnsEndpoint[] = Object.freeze([]);
const NONE: readonly never[] = Object.freeze([]);

/**
 * RecordIndex is the DNS server's view of the cluster: slim services,
 * endpoint slices and pods, with reverse indexes by IP for PTR and
 * verified pod records. It is fed by set/delete calls (from informers in
 * `ferry dns`, from fixtures in tests) and answers DnsController queries.
 * If `watchNamespaces` is false every namespace is taken to exist.
 */
export class RecordIndex implements DnsController {
  readonly #services = new Map<string, DnsService>();
  readonly #slices = new Map<string, Map<string, DnsEndpointSlice>>();
  /** Service key of each slice (`ns/slice` → `ns/service`). */
  readonly #sliceOwner = new Map<string, string>();
  /** Flattened endpoints per service key, rebuilt when one of its slices changes. */
  readonly #endpoints = new Map<string, DnsEndpoint[]>();
  readonly #byClusterIP = new Map<string, DnsService[]>();
  /** Services by external address, for `k8s_external`'s PTR answers (CoreDNS SvcExtIndexReverse). */
  readonly #byExternalIP = new Map<string, DnsService[]>();
  readonly #byEndpointIP = new Map<string, EndpointRef[]>();
  /**
   * Namespace of each pod address, the only thing a verified pod record
   * asks; an address several pods hold (host network) lists one namespace
   * per pod. A single namespace is kept bare, not in a list: at 50,000 pods
   * every object per pod counts. Pods are added and removed as the caller
   * (an informer, whose cache holds every pod) had them, so no copy of each
   * pod is kept here.
   */
  readonly #podNamespaces = new Map<string, string | string[]>();
  #podCount = 0;
  readonly #namespaces = new Set<string>();
  readonly #watchNamespaces: boolean;
  readonly #listeners: Array<(kind: ChangeKind, at: number | undefined) => void> = [];
  #synced = false;
  #modified = Math.floor(Date.now() / 1000);
  /** Time of the last change to the `k8s_external` zone (its SOA serial; CoreDNS extModified). */
  #externalModified = Math.floor(Date.now() / 1000);
  /** ServiceImports and multicluster slices, for `multicluster` zones; its changes are changes of this index. */
  readonly multicluster: MultiClusterIndex;

  constructor(options: { watchNamespaces: boolean }) {
    this.#watchNamespaces = options.watchNamespaces;
    this.multicluster = new MultiClusterIndex(() => this.#changed('cluster_ip', undefined));
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** markSynced is called once the initial lists of every watched kind are applied. */
  markSynced(): void {
    this.#synced = true;
    this.#changed('namespace', undefined);
  }

  modified(): number {
    return this.#modified;
  }

  externalModified(): number {
    return this.#externalModified;
  }

  servicesByExternalIP(ip: string): readonly DnsService[] {
    return this.#byExternalIP.get(ip) ?? NONE;
  }

  hasNamespace(ns: string): boolean {
    return !this.#watchNamespaces || this.#namespaces.has(ns);
  }

  service(ns: string, name: string): DnsService | undefined {
    return this.#services.get(key(ns, name));
  }

  services(): Iterable<DnsService> {
    return this.#services.values();
  }

  endpoints(ns: string, service: string): readonly DnsEndpoint[] {
    return this.#endpoints.get(key(ns, service)) ?? NO_ENDPOINTS;
  }

  servicesByClusterIP(ip: string): readonly DnsService[] {
    return this.#byClusterIP.get(ip) ?? NONE;
  }

  endpointsByIP(ip: string): readonly EndpointRef[] {
    const refs = this.#byEndpointIP.get(ip);
    if (!refs) return NONE;
    // The service object may have been replaced since the slice was indexed.
    return refs.flatMap((r) => {
      const svc = this.service(r.service.namespace, r.service.name);
      return svc ? [{ service: svc, endpoint: r.endpoint }] : [];
    });
  }

  hasPod(ns: string, ip: string): boolean {
    const held = this.#podNamespaces.get(ip);
    return held === ns || (Array.isArray(held) && held.includes(ns));
  }

  onChange(listener: (kind: ChangeKind, changedAtMs: number | undefined) => void): void {
    this.#listeners.push(listener);
  }

  setService(svc: DnsService, changedAtMs?: number): void {
    const k = key(svc.namespace, svc.name);
    const old = this.#services.get(k);
    // An external address change alone leaves the cluster zone (its serial, its prebuilt answers) as it was.
    const internal = !old || !servicesEquivalent(old, svc);
    const external = externalChanged(old, svc);
    if (!internal && !external) return;
    this.#unindexService(old);
    this.#services.set(k, svc);
    for (const ip of svc.clusterIPs) push(this.#byClusterIP, ip, svc);
    for (const ip of svc.externalIPs ?? NONE) push(this.#byExternalIP, ip, svc);
    this.#reindexEndpoints(svc.namespace, svc.name);
    if (external) this.#externalModified = Math.floor(Date.now() / 1000);
    if (internal) this.#changed(serviceKind(svc), changedAtMs);
  }

  deleteService(ns: string, name: string): void {
    const k = key(ns, name);
    const old = this.#services.get(k);
    if (!old) return;
    this.#unindexService(old);
    this.#services.delete(k);
    this.#reindexEndpoints(ns, name);
    if (externalChanged(old, undefined)) this.#externalModified = Math.floor(Date.now() / 1000);
    this.#changed(serviceKind(old), undefined);
  }

  setEndpointSlice(slice: DnsEndpointSlice, changedAtMs?: number): void {
    const sk = key(slice.namespace, slice.name);
    const owner = this.#sliceOwner.get(sk);
    const k = key(slice.namespace, slice.service);
    const old = owner === k ? this.#slices.get(k)?.get(slice.name) : undefined;
    if (old && slicesEquivalent(old, slice)) return;
    // A slice moves to another service only by relabeling; drop it from the old one.
    if (owner !== undefined && owner !== k) this.deleteEndpointSlice(slice.namespace, slice.name);
    let slices = this.#slices.get(k);
    if (!slices) this.#slices.set(k, (slices = new Map()));
    slices.set(slice.name, slice);
    this.#sliceOwner.set(sk, k);
    this.#reindexEndpoints(slice.namespace, slice.service);
    const svc = this.service(slice.namespace, slice.service);
    // Before its Service arrives a slice makes no record: nothing was programmed yet (CoreDNS: no observation).
    this.#changed(svc ? serviceKind(svc) : 'headless_with_selector', svc ? changedAtMs : undefined);
  }

  deleteEndpointSlice(ns: string, name: string): void {
    const sk = key(ns, name);
    const k = this.#sliceOwner.get(sk);
    if (k === undefined) return;
    this.#sliceOwner.delete(sk);
    const map = this.#slices.get(k);
    const slice = map?.get(name);
    if (!map || !slice) return;
    map.delete(name);
    if (map.size === 0) this.#slices.delete(k);
    this.#reindexEndpoints(ns, slice.service);
    const svc = this.service(ns, slice.service);
    this.#changed(svc ? serviceKind(svc) : 'headless_with_selector', undefined);
  }

  /** updatePod replaces pod `old` (as added before; undefined for a new pod) with `cur` (undefined when deleted). */
  updatePod(old: DnsPod | undefined, cur: DnsPod | undefined, changedAtMs?: number): void {
    if (old && cur && podsEquivalent(old, cur)) return;
    if (old) this.#removePod(old);
    if (cur) {
      this.#podCount++;
      for (const ip of cur.ips) {
        const held = this.#podNamespaces.get(ip);
        if (held === undefined) this.#podNamespaces.set(ip, cur.namespace);
        else if (Array.isArray(held)) held.push(cur.namespace);
        else this.#podNamespaces.set(ip, [held, cur.namespace]);
      }
    }
    this.#changed('pod', changedAtMs);
  }

  #removePod(pod: DnsPod): void {
    this.#podCount = Math.max(0, this.#podCount - 1);
    for (const ip of pod.ips) {
      const held = this.#podNamespaces.get(ip);
      if (held === pod.namespace) this.#podNamespaces.delete(ip);
      else if (Array.isArray(held)) {
        const i = held.indexOf(pod.namespace);
        if (i >= 0) held.splice(i, 1);
        if (held.length === 1) this.#podNamespaces.set(ip, held[0]!);
      }
    }
  }

  setNamespace(name: string): void {
    if (this.#namespaces.has(name)) return;
    this.#namespaces.add(name);
    this.#changed('namespace', undefined);
  }

  deleteNamespace(name: string): void {
    if (this.#namespaces.delete(name)) this.#changed('namespace', undefined);
  }

  /** counts is for logs and tests. */
  counts(): { services: number; endpoints: number; pods: number } {
    let endpoints = 0;
    for (const eps of this.#endpoints.values()) endpoints += eps.length;
    return { services: this.#services.size, endpoints, pods: this.#podCount };
  }

  #unindexService(svc: DnsService | undefined): void {
    if (!svc) return;
    const same = (s: DnsService) => s.namespace === svc.namespace && s.name === svc.name;
    for (const ip of svc.clusterIPs) remove(this.#byClusterIP, ip, same);
    for (const ip of svc.externalIPs ?? NONE) remove(this.#byExternalIP, ip, same);
  }

  #reindexEndpoints(ns: string, service: string): void {
    const k = key(ns, service);
    for (const ep of this.#endpoints.get(k) ?? []) remove(this.#byEndpointIP, ep.ip, (r) => r.endpoint === ep);
    const slices = this.#slices.get(k);
    const all = slices ? [...slices.values()].flatMap((s) => s.endpoints) : [];
    if (all.length === 0) this.#endpoints.delete(k);
    else this.#endpoints.set(k, all);
    const svc = this.service(ns, service);
    if (!svc) return;
    for (const ep of all) push(this.#byEndpointIP, ep.ip, { service: svc, endpoint: ep });
  }

  #changed(kind: ChangeKind, at: number | undefined): void {
    this.#modified = Math.floor(Date.now() / 1000);
    for (const listener of this.#listeners) listener(kind, at);
  }
}

function serviceKind(svc: DnsService): ChangeKind {
  if (svc.kind === 'ExternalName') return 'external_name';
  return svc.kind === 'Headless' ? 'headless_with_selector' : 'cluster_ip';
}

function push<T>(map: Map<string, T[]>, k: string, v: T): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

function remove<T>(map: Map<string, T[]>, k: string, match: (v: T) => boolean): void {
  const list = map.get(k);
  if (!list) return;
  const kept = list.filter((v) => !match(v));
  if (kept.length === 0) map.delete(k);
  else map.set(k, kept);
}
