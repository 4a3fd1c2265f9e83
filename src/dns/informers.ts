import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import { Informer } from '../client/informer.ts';
import { LAST_CHANGE_TRIGGER_TIME } from '../endpoints/endpoints-change-tracker.ts';
import { createLogger } from '../util/log.ts';
import type { PodMode } from './lookup.ts';
import type { ClientPods } from './metadata.ts';
import { LABEL_SERVICE_NAME, SERVICE_IMPORTS, slimMcEndpointSlice, slimServiceImport, toDnsServiceImport, toMcEndpointSlice, type ServiceImport } from './multicluster.ts';
import { slimEndpointSlice, slimMeta, slimPod, slimService, toDnsEndpointSlice, toDnsPod, toDnsService } from './object.ts';
import type { RecordIndex } from './records.ts';

const log = createLogger('dns-informers');

/** Pods that are gone or finished hold no address worth a record (CoreDNS's pod field selector). */
const LIVE_PODS = 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown';

/** FeedOptions are what the kubernetes plugin's options ask of the watch. */
export interface FeedOptions {
  /** Keep endpoints' pod names, for `kubernetes { endpoint_pod_names }`. */
  readonly keepPodNames?: boolean;
  /** Keep endpoints' topology zones, for `zonal`. */
  readonly keepZones?: boolean;
  /** Watch ServiceImports and multicluster slices too (`multicluster`). */
  readonly multicluster?: boolean;
  /** `labels`: Services, EndpointSlices and Pods are listed and watched with it, as CoreDNS does; '' or absent: all. */
  readonly labels?: string;
  /** `namespace_labels`: Namespaces are listed and watched with it; '' or absent: all. */
  readonly namespaceLabels?: string;
  /** Pods by address with their names and labels, for the kubernetes plugin's client metadata (verified mode only). */
  readonly clientPods?: ClientPods;
}

/**
 * InformerFeed keeps a RecordIndex equal to the cluster: informers on
 * Services, EndpointSlices and Namespaces, and Pods only in `verified`
 * mode (CoreDNS's initPodCache). The informers' caches hold slim copies
 * (object.ts transforms), not whole objects. The index is marked synced
 * once every informer has listed.
 */
export class InformerFeed {
  readonly #informers: Array<Informer<Service> | Informer<EndpointSlice> | Informer<Namespace> | Informer<Pod>> = [];
  /** ServiceImports and multicluster slices, synced apart: their CRD may be absent. */
  readonly #mcInformers: Array<Informer<ServiceImport> | Informer<EndpointSlice>> = [];
  readonly #index: RecordIndex;

  /**
   * `o` says what else to keep and watch (FeedOptions).
   */
  constructor(client: ApiClient, index: RecordIndex, podMode: PodMode, o: FeedOptions = {}) {
    const { keepPodNames = false, keepZones = false, multicluster = false } = o;
    this.#index = index;
    const labelSelector = o.labels || undefined;
    const services = new Informer<Service>({ client, resource: resources.services, labelSelector, transform: slimService });
    services.addHandlers({
      onAdd: (s) => index.setService(toDnsService(s)),
      onUpdate: (_, s) => index.setService(toDnsService(s)),
      onDelete: (s) => index.deleteService(s.metadata?.namespace ?? 'default', s.metadata?.name ?? ''),
    });
    const slices = new Informer<EndpointSlice>({ client, resource: resources.endpointslices, labelSelector, transform: (s) => slimEndpointSlice(s, LAST_CHANGE_TRIGGER_TIME, keepPodNames, keepZones) });
    const setSlice = (s: EndpointSlice) => {
      const slim = toDnsEndpointSlice(s);
      const trigger = s.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME];
      const at = trigger ? Date.parse(trigger) : Number.NaN;
      if (slim) index.setEndpointSlice(slim, Number.isNaN(at) ? undefined : at);
      else index.deleteEndpointSlice(s.metadata?.namespace ?? 'default', s.metadata?.name ?? '');
    };
    slices.addHandlers({
      onAdd: setSlice,
      onUpdate: (_, s) => setSlice(s),
      onDelete: (s) => index.deleteEndpointSlice(s.metadata?.namespace ?? 'default', s.metadata?.name ?? ''),
    });
    const namespaces = new Informer<Namespace>({ client, resource: resources.namespaces, labelSelector: o.namespaceLabels || undefined, transform: slimMeta });
    namespaces.addHandlers({
      onAdd: (n) => index.setNamespace(n.metadata?.name ?? ''),
      onDelete: (n) => index.deleteNamespace(n.metadata?.name ?? ''),
    });
    this.#informers.push(services, slices, namespaces);
    if (podMode === 'verified') {
      const cp = o.clientPods;
      // Labels cost memory per pod: kept only for client metadata (`kubernetes/client-label/...`).
      const transform = cp ? (p: Pod) => withLabels(slimPod(p), p.metadata?.labels) : slimPod;
      const pods = new Informer<Pod>({ client, resource: resources.pods, labelSelector, fieldSelector: LIVE_PODS, transform });
      pods.addHandlers({
        onAdd: (p) => (index.updatePod(undefined, toDnsPod(p)), cp?.update(undefined, p)),
        onUpdate: (old, p) => (index.updatePod(toDnsPod(old), toDnsPod(p)), cp?.update(old, p)),
        onDelete: (p) => (index.updatePod(toDnsPod(p), undefined), cp?.update(p, undefined)),
      });
      this.#informers.push(pods);
    }
    if (multicluster) this.#watchMultiCluster(client, index);
  }

  /**
   * #watchMultiCluster watches what CoreDNS's `multicluster` watches:
   * ServiceImports (a CRD's kind: while it is absent the list fails with 404
   * and is retried with back-off, up to 30 s apart, as client-go's reflector
   * does) and EndpointSlices carrying the MCS service-name label.
   */
  #watchMultiCluster(client: ApiClient, index: RecordIndex): void {
    const mc = index.multicluster;
    const imports = new Informer<ServiceImport>({ client, resource: SERVICE_IMPORTS, transform: slimServiceImport });
    imports.addHandlers({
      onAdd: (si) => mc.setServiceImport(toDnsServiceImport(si)),
      onUpdate: (_, si) => mc.setServiceImport(toDnsServiceImport(si)),
      onDelete: (si) => mc.deleteServiceImport(si.metadata?.namespace ?? 'default', si.metadata?.name ?? ''),
    });
    const slices = new Informer<EndpointSlice>({ client, resource: resources.endpointslices, labelSelector: LABEL_SERVICE_NAME, transform: slimMcEndpointSlice });
    const setSlice = (s: EndpointSlice) => {
      const slim = toMcEndpointSlice(s);
      if (slim) mc.setEndpointSlice(slim);
      else mc.deleteEndpointSlice(s.metadata?.namespace ?? 'default', s.metadata?.name ?? '');
    };
    slices.addHandlers({
      onAdd: setSlice,
      onUpdate: (_, s) => setSlice(s),
      onDelete: (s) => mc.deleteEndpointSlice(s.metadata?.namespace ?? 'default', s.metadata?.name ?? ''),
    });
    this.#mcInformers.push(imports, slices);
  }

  /** start begins list+watch; the index is marked synced when every informer has listed. */
  start(): void {
    for (const informer of this.#informers) informer.start();
    void Promise.all(this.#informers.map((i) => i.synced)).then(() => {
      this.#index.markSynced();
      log.info(0, 'Informers synced', this.#index.counts());
    });
    if (this.#mcInformers.length === 0) return;
    for (const informer of this.#mcInformers) informer.start();
    void Promise.all(this.#mcInformers.map((i) => i.synced)).then(() => {
      this.#index.multicluster.markSynced();
      log.info(0, 'Multicluster informers synced');
    });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers, ...this.#mcInformers].map((i) => i.stop()));
  }
}

function withLabels(slim: Pod, labels: Record<string, string> | undefined): Pod {
  return labels ? { ...slim, metadata: { ...slim.metadata, labels } } : slim;
}
