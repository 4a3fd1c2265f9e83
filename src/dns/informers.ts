import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import { Informer } from '../client/informer.ts';
import { LAST_CHANGE_TRIGGER_TIME } from '../endpoints/endpoints-change-tracker.ts';
import { createLogger } from '../util/log.ts';
import type { PodMode } from './lookup.ts';
import { slimEndpointSlice, slimMeta, slimPod, slimService, toDnsEndpointSlice, toDnsPod, toDnsService } from './object.ts';
import type { RecordIndex } from './records.ts';

const log = createLogger('dns-informers');

/** Pods that are gone or finished hold no address worth a record (CoreDNS's pod field selector). */
const LIVE_PODS = 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown';

/** FeedSelectors are the kubernetes plugin's label selectors ('' or absent: everything). */
export interface FeedSelectors {
  readonly labels?: string;
  readonly namespaceLabels?: string;
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
  readonly #index: RecordIndex;

  /**
   * `keepPodNames` keeps endpoints' pod names, for `kubernetes { endpoint_pod_names }`; `keepZones` their zones, for `zonal`;
   * `selectors` are `labels` (Services, EndpointSlices and Pods) and `namespace_labels` (Namespaces), as CoreDNS lists and watches them.
   */
  constructor(client: ApiClient, index: RecordIndex, podMode: PodMode, keepPodNames = false, keepZones = false, selectors: FeedSelectors = {}) {
    this.#index = index;
    const labelSelector = selectors.labels || undefined;
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
    const namespaces = new Informer<Namespace>({ client, resource: resources.namespaces, labelSelector: selectors.namespaceLabels || undefined, transform: slimMeta });
    namespaces.addHandlers({
      onAdd: (n) => index.setNamespace(n.metadata?.name ?? ''),
      onDelete: (n) => index.deleteNamespace(n.metadata?.name ?? ''),
    });
    this.#informers.push(services, slices, namespaces);
    if (podMode === 'verified') {
      const pods = new Informer<Pod>({ client, resource: resources.pods, labelSelector, fieldSelector: LIVE_PODS, transform: slimPod });
      pods.addHandlers({
        onAdd: (p) => index.updatePod(undefined, toDnsPod(p)),
        onUpdate: (old, p) => index.updatePod(toDnsPod(old), toDnsPod(p)),
        onDelete: (p) => index.updatePod(toDnsPod(p), undefined),
      });
      this.#informers.push(pods);
    }
  }

  /** start begins list+watch; the index is marked synced when every informer has listed. */
  start(): void {
    for (const informer of this.#informers) informer.start();
    void Promise.all(this.#informers.map((i) => i.synced)).then(() => {
      this.#index.markSynced();
      log.info(0, 'Informers synced', this.#index.counts());
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
