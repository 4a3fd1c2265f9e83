import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound, statusMessage } from '../../client/errors.ts';
import { EventRecorder, involvedOf } from '../../client/event-recorder.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { adoptable, adoptionPatch, controllerOwnerRef, selectorSelects } from './adoption.ts';
import { sameJSON } from './canonical.ts';
import { Controller, type Requeue } from './controller.ts';
import type { SharedInformers } from './informers.ts';
import { controllerRef, isPodActive, planReplicaSet, podFromTemplate } from './replicaset-reconcile.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('replicaset-controller');

export interface ReplicaSetControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workers: number;
}

/**
 * ReplicaSetController keeps each ReplicaSet's pods at its replicas
 * (kube-controller-manager's replicaset controller): pods it owns by
 * controller reference are counted, missing ones created from the template,
 * surplus ones deleted in kube's order, and the status reported. Orphaned
 * pods the set selects are adopted.
 */
export class ReplicaSetController {
  readonly controller: Controller;
  private readonly cfg: ReplicaSetControllerConfig;
  private readonly tracker = new WriteTracker();
  readonly recorder: EventRecorder;

  constructor(cfg: ReplicaSetControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'replicaset-controller' });
    this.controller = new Controller('replicaset', (key) => this.sync(key));
    const inf = cfg.informers;
    const enqueue = (rs: ReplicaSet) => this.controller.enqueue(objectKey(rs));
    inf.replicaSets.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const podOwner = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === 'ReplicaSet') this.controller.enqueue(`${p.metadata?.namespace}/${ref.name}`);
      if (!ref && !p.metadata?.deletionTimestamp) for (const rs of inf.replicaSets.store.byIndex('namespace', p.metadata?.namespace ?? '')) if (selectorSelects(rs.spec?.selector, p.metadata?.labels)) enqueue(rs);
    };
    inf.pods.addHandlers({ onAdd: podOwner, onUpdate: (_o, n) => podOwner(n), onDelete: podOwner });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const inf = this.cfg.informers;
    const rs = inf.replicaSets.store.get(key);
    if (!rs) {
      this.tracker.forgetOwner(key);
      return;
    }
    const owned = [...inf.pods.store.byIndex('controller', rs.metadata?.uid ?? ''), ...(await this.adopt(rs))];
    const byName = new Map(owned.map((p) => [p.metadata?.name ?? '', p]));
    if (this.tracker.isStale(key, (name) => {
      const p = byName.get(name);
      return p && { resourceVersion: p.metadata?.resourceVersion, deleting: p.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const plan = planReplicaSet(rs, owned, Date.now());
    const client = this.cfg.client;
    const namespace = rs.metadata?.namespace;
    // A set being deleted creates and deletes no pods (its pods are the garbage collector's), as kube's manageReplicas.
    if (rs.metadata?.deletionTimestamp) {
      plan.create = 0;
      plan.delete = [];
    }
    if (plan.create > 0) {
      const template = podFromTemplate(rs);
      const ref = involvedOf(rs, 'ReplicaSet', 'apps/v1');
      const created = await Promise.all(Array.from({ length: plan.create }, () => client.create(resources.pods, template).catch((error: unknown) => {
        this.recorder.event(ref, 'Warning', 'FailedCreate', `Error creating: ${statusMessage(error)}`);
        throw error;
      })));
      for (const p of created) {
        this.tracker.recordWrite(key, p.metadata?.name ?? '', p.metadata?.resourceVersion);
        this.recorder.event(ref, 'Normal', 'SuccessfulCreate', `Created pod: ${p.metadata?.name}`);
      }
      log.info(2, 'Created pods', { replicaSet: key, count: plan.create });
    }
    for (const p of plan.delete) {
      const name = p.metadata?.name ?? '';
      await client.delete(resources.pods, name, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      this.tracker.recordDelete(key, name);
      this.recorder.event(involvedOf(rs, 'ReplicaSet', 'apps/v1'), 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    }
    if (plan.delete.length > 0) log.info(2, 'Deleted pods', { replicaSet: key, count: plan.delete.length });
    const { conditions: _ignored, ...current } = rs.status ?? {};
    if (!sameJSON(current, plan.status)) {
      // A merge patch of the whole status: no resourceVersion, so no conflict with the Deployment controller scaling the set.
      await client.patch(resources.replicasets, rs.metadata?.name ?? '', { status: plan.status }, 'merge', { namespace, subresource: 'status' });
    }
  }

  /** adopt claims the orphaned pods the set selects, looking only at pods carrying one of its matchLabels when it has some. */
  private async adopt(rs: ReplicaSet): Promise<Pod[]> {
    const inf = this.cfg.informers;
    const ns = rs.metadata?.namespace ?? '';
    const matchLabels = rs.spec?.selector?.matchLabels ?? {};
    const candidates = Object.keys(matchLabels).length > 0 ? inf.podsSelectedBy(ns, matchLabels) : inf.pods.store.byIndex('namespace', ns);
    const adopted: Pod[] = [];
    for (const p of adoptable(rs, candidates.filter(isPodActive))) {
      const written = await this.cfg.client.patch<Pod>(resources.pods, p.metadata?.name ?? '', adoptionPatch(p, controllerOwnerRef('apps/v1', 'ReplicaSet', rs)), 'merge', { namespace: ns });
      this.tracker.recordWrite(objectKey(rs), written.metadata?.name ?? '', written.metadata?.resourceVersion);
      adopted.push(written);
      log.info(2, 'Adopted pod', { replicaSet: objectKey(rs), pod: p.metadata?.name });
    }
    return adopted;
  }
}
