import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { EventRecorder, involvedOf } from '../../client/event-recorder.ts';
import { isNotFound } from '../../client/errors.ts';
import { ignoreNotFound } from './workload-controllers.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { sameJSON } from './canonical.ts';
import { Controller, type Requeue } from './controller.ts';
import type { SharedInformers } from './informers.ts';
import { controllerRef } from './replicaset-reconcile.ts';
import { planStatefulSet, podForOrdinal, revisionFor } from './statefulset-reconcile.ts';
import type { WorkloadInformers } from './workload-informers.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('statefulset-controller');

export interface StatefulSetControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workloads: WorkloadInformers;
  workers: number;
  now?: () => number;
}

/**
 * StatefulSetController keeps each StatefulSet's `<name>-<ordinal>` pods
 * (kube-controller-manager's statefulset controller): one step of
 * planStatefulSet per sync, the next one driven by the pod's own updates
 * (Running, Ready, gone), so OrderedReady waits on each pod in turn.
 * A pod that already exists under the name (409) is retried once the cache
 * shows it.
 */
export class StatefulSetController {
  readonly controller: Controller;
  private readonly cfg: StatefulSetControllerConfig;
  private readonly tracker = new WriteTracker();
  private readonly now: () => number;
  readonly recorder: EventRecorder;

  constructor(cfg: StatefulSetControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'statefulset-controller' });
    this.now = cfg.now ?? Date.now;
    this.controller = new Controller('statefulset', (key) => this.sync(key));
    const enqueue = (s: StatefulSet) => this.controller.enqueue(objectKey(s));
    cfg.workloads.statefulSets.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const podOwner = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === 'StatefulSet') this.controller.enqueue(`${p.metadata?.namespace}/${ref.name}`);
    };
    cfg.informers.pods.addHandlers({ onAdd: podOwner, onUpdate: (_o, n) => podOwner(n), onDelete: podOwner });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const sts = this.cfg.workloads.statefulSets.store.get(key);
    if (!sts) {
      this.tracker.forgetOwner(key);
      return;
    }
    if (sts.metadata?.deletionTimestamp) return;
    const owned = this.cfg.informers.pods.store.byIndex('controller', sts.metadata?.uid ?? '');
    const byName = new Map(owned.map((p) => [p.metadata?.name ?? '', p]));
    if (this.tracker.isStale(key, (name) => {
      const p = byName.get(name);
      return p && { resourceVersion: p.metadata?.resourceVersion, deleting: p.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const plan = planStatefulSet(sts, owned, this.now());
    const client = this.cfg.client;
    const namespace = sts.metadata?.namespace;
    const ref = involvedOf(sts, 'StatefulSet', 'apps/v1');
    const set = sts.metadata?.name ?? '';
    for (const ordinal of plan.create) {
      const { revision, source } = revisionFor(sts, plan, ordinal);
      const p = await client.create(resources.pods, podForOrdinal(sts, ordinal, revision, source));
      this.tracker.recordWrite(key, p.metadata?.name ?? '', p.metadata?.resourceVersion);
      this.recorder.event(ref, 'Normal', 'SuccessfulCreate', `create Pod ${p.metadata?.name} in StatefulSet ${set} successful`);
      log.info(2, 'Created pod', { statefulSet: key, pod: p.metadata?.name });
    }
    for (const p of plan.delete) {
      const name = p.metadata?.name ?? '';
      await client.delete(resources.pods, name, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      this.tracker.recordDelete(key, name);
      this.recorder.event(ref, 'Normal', 'SuccessfulDelete', `delete Pod ${name} in StatefulSet ${set} successful`);
      log.info(2, 'Deleted pod', { statefulSet: key, pod: name });
    }
    if (!sameJSON(sts.status ?? {}, plan.status)) {
      await client.patch(resources.statefulsets, sts.metadata?.name ?? '', { status: plan.status }, 'merge', { namespace, subresource: 'status' }).catch(ignoreNotFound);
    }
    // minReadySeconds: look again when a ready pod becomes available.
    if ((sts.spec?.minReadySeconds ?? 0) > 0 && (plan.status.availableReplicas ?? 0) < (plan.status.readyReplicas ?? 0)) return { requeueAfterMs: 1000 };
  }
}
