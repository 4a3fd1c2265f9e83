import type { Job, JobStatus } from 'kubernetes-types/batch/v1.js';
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
import { planJob, podForJob } from './job-reconcile.ts';
import { controllerRef } from './replicaset-reconcile.ts';
import type { WorkloadInformers } from './workload-informers.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('job-controller');

export interface JobControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workloads: WorkloadInformers;
  workers: number;
  /** The clock (tests move it); Date.now by default. */
  now?: () => number;
  /** Base of the pod-failure back-off; kube's 10 s by default. */
  backoffBaseMs?: number;
}

/** withoutProbeTimes drops condition timestamps so a status differing only in them is not rewritten. */
function withoutTimes(s: JobStatus | undefined): unknown {
  return { ...s, conditions: (s?.conditions ?? []).map(({ lastProbeTime: _p, lastTransitionTime: _t, ...c }) => c) };
}

/**
 * JobController runs each Job's pods to completion (kube-controller-
 * manager's job controller plus its ttl-after-finished controller): creates
 * pods up to parallelism, counts successes and failures from the pods it
 * owns, backs off after failures, marks the Job Complete or Failed, and
 * deletes a finished Job once its ttlSecondsAfterFinished has passed.
 */
export class JobController {
  readonly controller: Controller;
  private readonly cfg: JobControllerConfig;
  private readonly tracker = new WriteTracker();
  private readonly now: () => number;
  readonly recorder: EventRecorder;

  constructor(cfg: JobControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'job-controller' });
    this.now = cfg.now ?? Date.now;
    this.controller = new Controller('job', (key) => this.sync(key));
    const enqueue = (j: Job) => this.controller.enqueue(objectKey(j));
    cfg.workloads.jobs.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const podOwner = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === 'Job') this.controller.enqueue(`${p.metadata?.namespace}/${ref.name}`);
    };
    cfg.informers.pods.addHandlers({ onAdd: podOwner, onUpdate: (_o, n) => podOwner(n), onDelete: podOwner });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<Requeue | void> {
    const job = this.cfg.workloads.jobs.store.get(key);
    if (!job) {
      this.tracker.forgetOwner(key);
      return;
    }
    if (job.metadata?.deletionTimestamp) return;
    const owned = this.cfg.informers.pods.store.byIndex('controller', job.metadata?.uid ?? '');
    const byName = new Map(owned.map((p) => [p.metadata?.name ?? '', p]));
    if (this.tracker.isStale(key, (name) => {
      const p = byName.get(name);
      return p && { resourceVersion: p.metadata?.resourceVersion, deleting: p.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const plan = planJob(job, owned, { now: this.now(), ...(this.cfg.backoffBaseMs !== undefined ? { backoffBaseMs: this.cfg.backoffBaseMs } : {}) });
    const client = this.cfg.client;
    const namespace = job.metadata?.namespace;
    const name = job.metadata?.name ?? '';
    const ref = involvedOf(job, 'Job', 'batch/v1');
    if (plan.deleteJob) {
      await client.delete(resources.jobs, name, { namespace }, { propagationPolicy: 'Background' }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      log.info(2, 'Deleted finished Job past ttlSecondsAfterFinished', { job: key });
      return;
    }
    if (plan.create > 0) {
      const indexes = plan.indexes;
      const created = await Promise.all(Array.from({ length: plan.create }, (_, i) => client.create(resources.pods, podForJob(job, indexes?.[i]))));
      for (const p of created) {
        this.tracker.recordWrite(key, p.metadata?.name ?? '', p.metadata?.resourceVersion);
        this.recorder.event(ref, 'Normal', 'SuccessfulCreate', `Created pod: ${p.metadata?.name}`);
      }
      log.info(2, 'Created pods', { job: key, count: plan.create });
    }
    for (const p of plan.delete) {
      const podName = p.metadata?.name ?? '';
      await client.delete(resources.pods, podName, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      this.tracker.recordDelete(key, podName);
      this.recorder.event(ref, 'Normal', 'SuccessfulDelete', `Deleted pod: ${podName}`);
    }
    // The condition this sync adds, told as kube's job controller does.
    const added = plan.status.conditions?.find((c) => !job.status?.conditions?.some((o) => o.type === c.type));
    if (added?.type === 'Complete') this.recorder.event(ref, 'Normal', 'Completed', 'Job completed');
    else if (added?.type === 'Failed') this.recorder.event(ref, 'Warning', added.reason ?? 'Failed', added.message ?? '');
    if (!sameJSON(withoutTimes(job.status), withoutTimes(plan.status))) {
      // A merge patch drops a counter only when told null.
      const status = { active: null, succeeded: null, failed: null, ...plan.status };
      await client.patch(resources.jobs, name, { status }, 'merge', { namespace, subresource: 'status' }).catch(ignoreNotFound);
    }
    if (plan.requeueAfterMs !== undefined) return { requeueAfterMs: plan.requeueAfterMs };
  }
}
