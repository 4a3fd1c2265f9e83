import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound } from '../../client/errors.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { Controller, type Requeue } from './controller.ts';
import { planSlices } from './endpointslice-reconcile.ts';
import type { SharedInformers } from './informers.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('endpointslice-controller');

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface EndpointSliceControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  maxEndpointsPerSlice: number;
  workers: number;
}

/**
 * EndpointSliceController keeps every selector Service's EndpointSlices
 * (kube-controller-manager's endpointslice controller): Service, Pod, Node
 * and slice events queue the Services concerned; a sync plans the minimal
 * writes with planSlices and applies them.
 */
export class EndpointSliceController {
  readonly controller: Controller;
  private readonly cfg: EndpointSliceControllerConfig;
  private readonly tracker = new WriteTracker();
  private nodeZones = new Map<string, string>();

  constructor(cfg: EndpointSliceControllerConfig) {
    this.cfg = cfg;
    this.controller = new Controller('endpointslice', (key) => this.sync(key));
    const inf = cfg.informers;
    const enqueue = (obj: { metadata?: { namespace?: string; name?: string } }) => this.controller.enqueue(objectKey(obj));
    inf.services.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    inf.pods.addHandlers({
      onAdd: (p) => this.podChanged(undefined, p),
      onUpdate: (o, n) => this.podChanged(o, n),
      onDelete: (p) => this.podChanged(undefined, p),
    });
    const sliceOwner = (s: EndpointSlice) => {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (svc) this.controller.enqueue(`${s.metadata?.namespace}/${svc}`);
    };
    inf.endpointSlices.addHandlers({ onAdd: sliceOwner, onUpdate: (_o, n) => sliceOwner(n), onDelete: sliceOwner });
    inf.nodes.addHandlers({ onAdd: (n) => this.nodeChanged(n), onUpdate: (_o, n) => this.nodeChanged(n), onDelete: (n) => this.nodeChanged(n, true) });
  }

  private podChanged(old: Pod | undefined, pod: Pod): void {
    const ns = pod.metadata?.namespace ?? '';
    const inf = this.cfg.informers;
    for (const k of inf.servicesSelecting(ns, pod.metadata?.labels)) this.controller.enqueue(k);
    if (old && old.metadata?.labels !== pod.metadata?.labels) for (const k of inf.servicesSelecting(ns, old.metadata?.labels)) this.controller.enqueue(k);
  }

  /** nodeChanged requeues every service when a node's zone changes (endpoints carry it). */
  private nodeChanged(node: Node, deleted = false): void {
    const name = node.metadata?.name ?? '';
    const zone = deleted ? undefined : node.metadata?.labels?.[ZONE_LABEL];
    if (this.nodeZones.get(name) === zone) return;
    if (zone === undefined) this.nodeZones.delete(name);
    else this.nodeZones.set(name, zone);
    for (const s of this.cfg.informers.services.store.list()) this.controller.enqueue(objectKey(s));
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const inf = this.cfg.informers;
    const existing = inf.endpointSlices.store.byIndex('service', key);
    const cached = new Map(existing.map((s) => [s.metadata?.name ?? '', s]));
    if (this.tracker.isStale(key, (name) => {
      const s = cached.get(name);
      return s && { resourceVersion: s.metadata?.resourceVersion, deleting: s.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const service = inf.services.store.get(key);
    if (!service) {
      // The garbage collector removes owned slices with the Service; this covers slices left while neither ran.
      for (const s of existing) await this.delete(key, s);
      return;
    }
    if (!service.spec?.selector || service.spec.type === 'ExternalName') return;
    const [namespace] = key.split('/');
    const plan = planSlices({
      service,
      pods: inf.podsSelectedBy(namespace!, service.spec.selector),
      nodeZones: this.nodeZones,
      existing,
      maxEndpointsPerSlice: this.cfg.maxEndpointsPerSlice,
    });
    const client = this.cfg.client;
    for (const s of plan.delete) await this.delete(key, s);
    for (const s of plan.update) {
      const written = await client.update(resources.endpointslices, s);
      this.tracker.recordWrite(key, written.metadata?.name ?? '', written.metadata?.resourceVersion);
    }
    for (const s of plan.create) {
      const written = await client.create(resources.endpointslices, s);
      this.tracker.recordWrite(key, written.metadata?.name ?? '', written.metadata?.resourceVersion);
    }
    const writes = plan.create.length + plan.update.length + plan.delete.length;
    if (writes > 0) log.info(2, 'Synced EndpointSlices', { service: key, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length });
  }

  private async delete(key: string, s: EndpointSlice): Promise<void> {
    try {
      await this.cfg.client.delete(resources.endpointslices, s.metadata?.name ?? '', { namespace: s.metadata?.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.tracker.recordDelete(key, s.metadata?.name ?? '');
  }
}
