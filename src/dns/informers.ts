import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import { Informer } from '../client/informer.ts';
import { LAST_CHANGE_TRIGGER_TIME } from '../endpoints/endpoints-change-tracker.ts';
import { createLogger } from '../util/log.ts';
import type { PodMode } from './lookup.ts';
import { LABEL_SERVICE_NAME, SERVICE_IMPORTS, slimMcEndpointSlice, slimServiceImport, toDnsServiceImport, toMcEndpointSlice, type ServiceImport } from './multicluster.ts';
import { slimEndpointSlice, slimMeta, slimPod, slimService, toDnsEndpointSlice, toDnsPod, toDnsService } from './object.ts';
import type { RecordIndex } from './records.ts';

const log = createLogger('dns-informers');

/** Pods that are gone or finished hold no address worth a record (CoreDNS's pod field selector). */
const LIVE_PODS = 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown';

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
   * `keepPodNames` keeps endpoints' pod names, for `kubernetes { endpoint_pod_names }`;
   * `multicluster` watches ServiceImports and multicluster slices too.
   */
  constructor(client: ApiClient, index: RecordIndex, podMode: PodMode, keepPodNames = false, multicluster = false) {
    this.#index = index;
    const services = new Informer<Service>({ client, resource: resources.services, transform: slimService });
    services.addHandlers({
      onAdd: (s) => index.setService(toDnsService(s)),
      onUpdate: (_, s) => index.setService(toDnsService(s)),
      onDelete: (s) => index.deleteService(s.metadata?.namespace ?? 'default', s.metadata?.name ?? ''),
    });
    const slices = new Informer<EndpointSlice>({ client, resource: resources.endpointslices, transform: (s) => slimEndpointSlice(s, LAST_CHANGE_TRIGGER_TIME, keepPodNames) });
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
    const namespaces = new Informer<Namespace>({ client, resource: resources.namespaces, transform: slimMeta });
    namespaces.addHandlers({
      onAdd: (n) => index.setNamespace(n.metadata?.name ?? ''),
      onDelete: (n) => index.deleteNamespace(n.metadata?.name ?? ''),
    });
    this.#informers.push(services, slices, namespaces);
    if (podMode === 'verified') {
      const pods = new Informer<Pod>({ client, resource: resources.pods, fieldSelector: LIVE_PODS, transform: slimPod });
      pods.addHandlers({
        onAdd: (p) => index.updatePod(undefined, toDnsPod(p)),
        onUpdate: (old, p) => index.updatePod(toDnsPod(old), toDnsPod(p)),
        onDelete: (p) => index.updatePod(toDnsPod(p), undefined),
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
