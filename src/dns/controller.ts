import type { MultiClusterView } from './multicluster.ts';
import type { DnsEndpoint, DnsService } from './object.ts';

/** ChangeKind names what changed, for the programming-latency metric (service_kind label). */
export type ChangeKind = 'cluster_ip' | 'headless_with_selector' | 'headless_without_selector' | 'external_name' | 'pod' | 'namespace';

/** EndpointRef is an endpoint together with the service whose slice lists it. */
export interface EndpointRef {
  service: DnsService;
  endpoint: DnsEndpoint;
}

/**
 * DnsController is what the answering code asks about the cluster (CoreDNS's
 * dnsController). Implementations: RecordIndex fed by informers in
 * `ferry dns`, and the same index fed by fixtures in tests. Every method is
 * synchronous and cheap; results must not be mutated by callers.
 */
export interface DnsController {
  /** hasSynced is false until the initial lists are in: cluster names answer SERVFAIL until then. */
  hasSynced(): boolean;
  /** modified is the time of the last change in Unix seconds (the SOA serial). */
  modified(): number;
  /** hasNamespace reports whether names in `ns` may exist (CoreDNS namespaceExposed). */
  hasNamespace(ns: string): boolean;
  service(ns: string, name: string): DnsService | undefined;
  /** endpoints lists every endpoint of every slice of the service, ready or not. */
  endpoints(ns: string, service: string): readonly DnsEndpoint[];
  servicesByClusterIP(ip: string): readonly DnsService[];
  endpointsByIP(ip: string): readonly EndpointRef[];
  /** The ServiceImports and multicluster slices, when `multicluster` zones are served. */
  readonly multicluster?: MultiClusterView;
  /** hasPod reports whether a pod in `ns` has address `ip` (pods are only watched in `--pods verified` mode). */
  hasPod(ns: string, ip: string): boolean;
  /**
   * onChange registers a listener called synchronously after each applied
   * change, with the kind of object and the time (ms) the API object was
   * last changed when known, for coredns_kubernetes_dns_programming_duration_seconds.
   */
  onChange(listener: (kind: ChangeKind, changedAtMs: number | undefined) => void): void;
}
