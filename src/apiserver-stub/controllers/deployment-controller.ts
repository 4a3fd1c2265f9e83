import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound } from '../../client/errors.ts';
import { EventRecorder, involvedOf } from '../../client/event-recorder.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { adoptable, adoptionPatch, controllerOwnerRef, selectorSelects } from './adoption.ts';
import { sameJSON } from './canonical.ts';
import { Controller, type Requeue } from './controller.ts';
import { recheckAfterMs } from './deployment-conditions.ts';
import { ANNOTATION_REVISION, planDeployment } from './deployment-reconcile.ts';
import type { SharedInformers } from './informers.ts';
import { controllerRef } from './replicaset-reconcile.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('deployment-controller');

export interface DeploymentControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workers: number;
}

/** withoutTimes drops condition timestamps so that a status differing only in them is not rewritten. */
function withoutTimes(s: DeploymentStatus | undefined): unknown {
  return { ...s, conditions: (s?.conditions ?? []).map(({ lastUpdateTime: _u, lastTransitionTime: _t, ...c }) => c) };
}

/**
 * DeploymentController drives each Deployment through its ReplicaSets
 * (kube-controller-manager's deployment controller): creates the set of the
 * current template, scales sets for a rolling update or a recreate, and
 * reports the status `kubectl rollout status` reads.
 */
export class DeploymentController {
  readonly controller: Controller;
  private readonly cfg: DeploymentControllerConfig;
  private readonly tracker = new WriteTracker();
  readonly recorder: EventRecorder;

  constructor(cfg: DeploymentControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'deployment-controller' });
    this.controller = new Controller('deployment', (key) => this.sync(key));
    const inf = cfg.informers;
    const enqueue = (d: Deployment) => this.controller.enqueue(objectKey(d));
    inf.deployments.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const rsOwner = (rs: ReplicaSet) => {
      const ref = controllerRef(rs);
      if (ref?.kind === 'Deployment') this.controller.enqueue(`${rs.metadata?.namespace}/${ref.name}`);
      // An orphan is offered to every Deployment that selects it (kube's getDeploymentsForReplicaSet).
      if (!ref) for (const d of inf.deployments.store.byIndex('namespace', rs.metadata?.namespace ?? '')) if (selectorSelects(d.spec?.selector, rs.metadata?.labels)) enqueue(d);
    };
    inf.replicaSets.addHandlers({ onAdd: rsOwner, onUpdate: (_o, n) => rsOwner(n), onDelete: rsOwner });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const inf = this.cfg.informers;
    const d = inf.deployments.store.get(key);
    if (!d) {
      this.tracker.forgetOwner(key);
      return;
    }
    const owned = [...inf.replicaSets.store.byIndex('controller', d.metadata?.uid ?? ''), ...(await this.adopt(d))];
    const byName = new Map(owned.map((rs) => [rs.metadata?.name ?? '', rs]));
    if (this.tracker.isStale(key, (name) => {
      const rs = byName.get(name);
      return rs && { resourceVersion: rs.metadata?.resourceVersion, deleting: rs.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    // A Deployment being deleted only reports status (kube's syncStatusOnly): its ReplicaSets are the garbage collector's.
    if (d.metadata?.deletionTimestamp) return;
    const plan = planDeployment(d, owned, new Date());
    const client = this.cfg.client;
    if (plan.createReplicaSet) {
      const rs = await client.create(resources.replicasets, plan.createReplicaSet);
      this.tracker.recordWrite(key, rs.metadata?.name ?? '', rs.metadata?.resourceVersion);
      log.info(2, 'Created ReplicaSet', { deployment: key, replicaSet: rs.metadata?.name, replicas: rs.spec?.replicas });
      this.recorder.event(involvedOf(d, 'Deployment', 'apps/v1'), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata?.name} to ${rs.spec?.replicas ?? 0}`);
    }
    // The new set's annotations go with its scale when both change: one update, one resourceVersion.
    const annotate = plan.annotate;
    const scales = plan.scale.map(({ rs, replicas }) => ({ rs: rs === annotate?.rs ? { ...rs, metadata: { ...rs.metadata, annotations: annotate.annotations } } : rs, replicas }));
    if (annotate && !plan.scale.some((x) => x.rs === annotate.rs)) scales.push({ rs: { ...annotate.rs, metadata: { ...annotate.rs.metadata, annotations: annotate.annotations } }, replicas: annotate.rs.spec?.replicas ?? 0 });
    for (const { rs, replicas } of scales) {
      const written = await client.update(resources.replicasets, { ...rs, spec: { ...rs.spec!, replicas } });
      this.tracker.recordWrite(key, written.metadata?.name ?? '', written.metadata?.resourceVersion);
      log.info(2, 'Scaled ReplicaSet', { deployment: key, replicaSet: rs.metadata?.name, from: rs.spec?.replicas, to: replicas });
      const from = rs.spec?.replicas ?? 0;
      if (from !== replicas) this.recorder.event(involvedOf(d, 'Deployment', 'apps/v1'), 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata?.name} to ${replicas} from ${from}`);
    }
    if (plan.revision !== undefined) {
      await client.patch(resources.deployments, d.metadata?.name ?? '', { metadata: { annotations: { [ANNOTATION_REVISION]: plan.revision } } }, 'merge', { namespace: d.metadata?.namespace });
    }
    for (const rs of plan.cleanUp) {
      try {
        await client.delete(resources.replicasets, rs.metadata?.name ?? '', { namespace: rs.metadata?.namespace });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      log.info(2, 'Deleted old ReplicaSet past revisionHistoryLimit', { deployment: key, replicaSet: rs.metadata?.name });
    }
    if (!sameJSON(withoutTimes(d.status), withoutTimes(plan.status))) {
      await client.patch(resources.deployments, d.metadata?.name ?? '', { status: plan.status }, 'merge', { namespace: d.metadata?.namespace, subresource: 'status' });
    }
    // A rollout that stops progressing is looked at again when its deadline passes, to report ProgressDeadlineExceeded.
    const recheck = recheckAfterMs(d, plan.status.conditions ?? [], new Date());
    if (recheck !== undefined) return { requeueAfterMs: recheck };
  }

  /** adopt claims the namespace's orphaned ReplicaSets the Deployment selects. */
  private async adopt(d: Deployment): Promise<ReplicaSet[]> {
    const orphans = adoptable(d, this.cfg.informers.replicaSets.store.byIndex('namespace', d.metadata?.namespace ?? ''));
    const adopted: ReplicaSet[] = [];
    for (const rs of orphans) {
      const written = await this.cfg.client.patch<ReplicaSet>(resources.replicasets, rs.metadata?.name ?? '', adoptionPatch(rs, controllerOwnerRef('apps/v1', 'Deployment', d)), 'merge', { namespace: rs.metadata?.namespace });
      this.tracker.recordWrite(objectKey(d), written.metadata?.name ?? '', written.metadata?.resourceVersion);
      adopted.push(written);
      log.info(2, 'Adopted ReplicaSet', { deployment: objectKey(d), replicaSet: rs.metadata?.name });
    }
    return adopted;
  }
}
