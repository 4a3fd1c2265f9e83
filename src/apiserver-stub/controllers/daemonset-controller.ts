import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { EventRecorder, involvedOf } from '../../client/event-recorder.ts';
import { isNotFound } from '../../client/errors.ts';
import { ignoreNotFound } from './workload-controllers.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { sameJSON } from './canonical.ts';
import { Controller, type Requeue } from './controller.ts';
import { planDaemonSet, podForNode } from './daemonset-reconcile.ts';
import type { SharedInformers } from './informers.ts';
import { controllerRef } from './replicaset-reconcile.ts';
import type { WorkloadInformers } from './workload-informers.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('daemonset-controller');

export interface DaemonSetControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workloads: WorkloadInformers;
  workers: number;
  now?: () => number;
}

/**
 * DaemonSetController keeps one pod on each eligible node (kube-controller-
 * manager's daemonset controller): pods are bound to their node when
 * created, nodes that join or change are looked at for every DaemonSet, and
 * a changed template rolls out within maxUnavailable.
 */
export class DaemonSetController {
  readonly controller: Controller;
  private readonly cfg: DaemonSetControllerConfig;
  private readonly tracker = new WriteTracker();
  private readonly now: () => number;
  readonly recorder: EventRecorder;

  constructor(cfg: DaemonSetControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'daemonset-controller' });
    this.now = cfg.now ?? Date.now;
    this.controller = new Controller('daemonset', (key) => this.sync(key));
    const enqueue = (ds: DaemonSet) => this.controller.enqueue(objectKey(ds));
    cfg.workloads.daemonSets.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const podOwner = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === 'DaemonSet') this.controller.enqueue(`${p.metadata?.namespace}/${ref.name}`);
    };
    cfg.informers.pods.addHandlers({ onAdd: podOwner, onUpdate: (_o, n) => podOwner(n), onDelete: podOwner });
    // A node joining, leaving or changing labels or taints may change where every DaemonSet runs.
    const allSets = (_n: Node) => {
      for (const ds of cfg.workloads.daemonSets.store.list()) enqueue(ds);
    };
    const nodeChanged = (o: Node, n: Node) => {
      if (!sameJSON(o.metadata?.labels, n.metadata?.labels) || !sameJSON(o.spec?.taints, n.spec?.taints)) allSets(n);
    };
    cfg.informers.nodes.addHandlers({ onAdd: allSets, onUpdate: nodeChanged, onDelete: allSets });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const ds = this.cfg.workloads.daemonSets.store.get(key);
    if (!ds) {
      this.tracker.forgetOwner(key);
      return;
    }
    if (ds.metadata?.deletionTimestamp) return;
    const owned = this.cfg.informers.pods.store.byIndex('controller', ds.metadata?.uid ?? '');
    const byName = new Map(owned.map((p) => [p.metadata?.name ?? '', p]));
    if (this.tracker.isStale(key, (name) => {
      const p = byName.get(name);
      return p && { resourceVersion: p.metadata?.resourceVersion, deleting: p.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const now = this.now();
    const plan = planDaemonSet(ds, this.cfg.informers.nodes.store.list(), owned, now);
    const client = this.cfg.client;
    const namespace = ds.metadata?.namespace;
    const made = await Promise.all(plan.create.map((node) => client.create(resources.pods, podForNode(ds, node, plan.hash))));
    const ref = involvedOf(ds, 'DaemonSet', 'apps/v1');
    for (const p of made) {
      this.tracker.recordWrite(key, p.metadata?.name ?? '', p.metadata?.resourceVersion);
      this.recorder.event(ref, 'Normal', 'SuccessfulCreate', `Created pod: ${p.metadata?.name}`);
    }
    if (made.length > 0) log.info(2, 'Created daemon pods', { daemonSet: key, nodes: plan.create.join(',') });
    for (const p of plan.delete) {
      const name = p.metadata?.name ?? '';
      await client.delete(resources.pods, name, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      this.tracker.recordDelete(key, name);
      this.recorder.event(ref, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    }
    if (plan.delete.length > 0) log.info(2, 'Deleted daemon pods', { daemonSet: key, count: plan.delete.length });
    if (!sameJSON(ds.status ?? {}, plan.status)) {
      await client.patch(resources.daemonsets, ds.metadata?.name ?? '', { status: plan.status }, 'merge', { namespace, subresource: 'status' }).catch(ignoreNotFound);
    }
    // minReadySeconds: look again when a ready pod becomes available.
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && (plan.status.numberAvailable ?? 0) < (plan.status.numberReady ?? 0)) return { requeueAfterMs: 1000 };
  }
}
