import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { EventRecorder, involvedOf } from '../../client/event-recorder.ts';
import { isConflict, isNotFound } from '../../client/errors.ts';
import { ignoreNotFound } from './workload-controllers.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { sameJSON } from './canonical.ts';
import { Controller, type Requeue } from './controller.ts';
import { jobFinished, planCronJob } from './cronjob-reconcile.ts';
import { controllerRef } from './replicaset-reconcile.ts';
import type { WorkloadInformers } from './workload-informers.ts';
import { WriteTracker } from './write-tracker.ts';

const log = createLogger('cronjob-controller');

export interface CronJobControllerConfig {
  client: ApiClient;
  workloads: WorkloadInformers;
  workers: number;
  /** The clock schedules are read against (tests run a fast one). */
  now?: () => number;
  /** Every CronJob is looked at this often besides its own requeue (kube's v1 controller polled every 10 s). */
  tickMs?: number;
}

/**
 * CronJobController starts a Job for each due scheduled time of a CronJob
 * (kube-controller-manager's cronjob controller v2): concurrencyPolicy
 * Allow, Forbid or Replace, startingDeadlineSeconds, suspend, the history
 * limits, and the status (active, lastScheduleTime, lastSuccessfulTime).
 */
export class CronJobController {
  readonly controller: Controller;
  private readonly cfg: CronJobControllerConfig;
  private readonly tracker = new WriteTracker();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  readonly recorder: EventRecorder;

  constructor(cfg: CronJobControllerConfig) {
    this.cfg = cfg;
    this.recorder = new EventRecorder(cfg.client, { component: 'cronjob-controller' });
    this.now = cfg.now ?? Date.now;
    this.controller = new Controller('cronjob', (key) => this.sync(key));
    const enqueue = (cj: CronJob) => this.controller.enqueue(objectKey(cj));
    cfg.workloads.cronJobs.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const jobOwner = (j: Job) => {
      const ref = controllerRef(j);
      if (ref?.kind === 'CronJob') this.controller.enqueue(`${j.metadata?.namespace}/${ref.name}`);
    };
    // A Job of a CronJob that just finished is told on the CronJob, as kube's SawCompletedJob.
    const sawCompleted = (o: Job, n: Job) => {
      const ref = controllerRef(n);
      const done = jobFinished(n);
      if (ref?.kind !== 'CronJob' || !done || jobFinished(o)) return;
      const cj = cfg.workloads.cronJobs.store.get(`${n.metadata?.namespace}/${ref.name}`);
      if (cj) this.recorder.event(involvedOf(cj, 'CronJob', 'batch/v1'), 'Normal', 'SawCompletedJob', `Saw completed job: ${n.metadata?.name}, status: ${done}`);
    };
    cfg.workloads.jobs.addHandlers({ onAdd: jobOwner, onUpdate: (o, n) => (sawCompleted(o, n), jobOwner(n)), onDelete: jobOwner });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
    this.timer = setInterval(() => {
      for (const cj of this.cfg.workloads.cronJobs.store.list()) this.controller.enqueue(objectKey(cj));
    }, this.cfg.tickMs ?? 10_000);
    this.timer.unref();
  }

  halt(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sync(key: string): Promise<Requeue | void> {
    const cj = this.cfg.workloads.cronJobs.store.get(key);
    if (!cj) {
      this.tracker.forgetOwner(key);
      return;
    }
    if (cj.metadata?.deletionTimestamp) return;
    const jobs = this.cfg.workloads.jobs.store.byIndex('controller', cj.metadata?.uid ?? '');
    const byName = new Map(jobs.map((j) => [j.metadata?.name ?? '', j]));
    if (this.tracker.isStale(key, (name) => {
      const j = byName.get(name);
      return j && { resourceVersion: j.metadata?.resourceVersion, deleting: j.metadata?.deletionTimestamp !== undefined };
    })) return { requeueAfterMs: 50 };
    const plan = planCronJob(cj, jobs, this.now());
    const client = this.cfg.client;
    const namespace = cj.metadata?.namespace;
    const ref = involvedOf(cj, 'CronJob', 'batch/v1');
    const remove = async (j: Job, why: string) => {
      await client.delete(resources.jobs, j.metadata?.name ?? '', { namespace }, { propagationPolicy: 'Background' }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      this.tracker.recordDelete(key, j.metadata?.name ?? '');
      this.recorder.event(ref, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata?.name}`);
      log.info(2, why, { cronJob: key, job: j.metadata?.name });
    };
    for (const j of plan.replace) await remove(j, 'Deleted active Job (concurrencyPolicy Replace)');
    if (plan.skipped) log.info(2, 'Scheduled time not started', { cronJob: key, why: plan.skipped });
    if (plan.skipped?.startsWith('concurrencyPolicy Forbid')) this.recorder.event(ref, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
    if (plan.skipped?.startsWith('too many missed')) this.recorder.event(ref, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    if (plan.create) {
      try {
        const j = await client.create(resources.jobs, plan.create);
        this.tracker.recordWrite(key, j.metadata?.name ?? '', j.metadata?.resourceVersion);
        this.recorder.event(ref, 'Normal', 'SuccessfulCreate', `Created job ${j.metadata?.name}`);
        log.info(2, 'Created Job', { cronJob: key, job: j.metadata?.name });
      } catch (error) {
        // AlreadyExists: a previous sync created it and lost the status write.
        if (!isConflict(error)) throw error;
      }
    }
    for (const j of plan.prune) await remove(j, 'Deleted finished Job past the history limit');
    // status.active is written whole (a merge patch would keep removed entries only if absent, so null clears it).
    const status = { ...plan.status, active: plan.status.active ?? null };
    if (!sameJSON({ ...cj.status, active: cj.status?.active ?? null }, status)) {
      await client.patch(resources.cronjobs, cj.metadata?.name ?? '', { status }, 'merge', { namespace, subresource: 'status' }).catch(ignoreNotFound);
    }
    if (plan.requeueAfterMs !== undefined) return { requeueAfterMs: Math.min(plan.requeueAfterMs, this.cfg.tickMs ?? plan.requeueAfterMs) };
  }
}
