import type { CronJob, CronJobStatus, Job } from 'kubernetes-types/batch/v1.js';
import { CronSchedule } from './cron-schedule.ts';

/**
 * The CronJob controller's reconcile math as pure functions (kube-
 * controller-manager `cronjob_controllerv2.go` `syncCronJob`, `utils.go`
 * `mostRecentScheduleTime`): which scheduled time is due, whether it may
 * start under the concurrency policy and starting deadline, which finished
 * Jobs fall out of the history limits, and the status to report.
 */

export const ANNOTATION_SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** kube gives up counting missed start times past this many (and says so). */
export const MAX_MISSED = 100;

export interface CronJobPlan {
  /** The Job to create for the due scheduled time. */
  create?: Job;
  /** Active Jobs to delete first (Replace). */
  replace: Job[];
  /** Finished Jobs past the history limits. */
  prune: Job[];
  status: CronJobStatus;
  /** When to look again: the next scheduled time. */
  requeueAfterMs?: number;
  /** Why the due time was not started (Forbid, deadline missed, too many missed). */
  skipped?: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function jobFinished(job: Job): 'Complete' | 'Failed' | undefined {
  const c = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return c?.type as 'Complete' | 'Failed' | undefined;
}

const startOf = (j: Job) => Date.parse(j.status?.startTime ?? j.metadata?.creationTimestamp ?? '') || 0;

/**
 * dueTime is the most recent scheduled time in (earliest, now], with the
 * count of times missed; earliest is the last schedule (or creation), moved
 * up to now - startingDeadlineSeconds when that is later.
 */
export function dueTime(cj: CronJob, schedule: CronSchedule, now: number): { due?: number; missed: number; next?: number } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? '') || now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, now - deadline * 1000);
  let due: number | undefined;
  let missed = 0;
  const first = schedule.next(earliest);
  for (let t = first; t !== undefined && t <= now; t = schedule.next(t)) {
    due = t;
    if (++missed > MAX_MISSED) {
      // Too many to count: take the latest one before now, scanning only the last stretch as long as the 100 counted.
      let last = t;
      for (let u = schedule.next(Math.max(t, now - (t - first!))); u !== undefined && u <= now; u = schedule.next(u)) last = u;
      due = last;
      break;
    }
  }
  return { ...(due !== undefined ? { due } : {}), missed, ...(() => { const n = schedule.next(now); return n !== undefined ? { next: n } : {}; })() };
}

/** jobFor builds the Job of one scheduled time: `<cronjob>-<minutes since epoch>`, owned by the CronJob. */
export function jobFor(cj: CronJob, scheduled: number): Job {
  const t = cj.spec?.jobTemplate ?? {};
  const name = cj.metadata?.name ?? '';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${name}-${Math.floor(scheduled / 60_000)}`,
      namespace: cj.metadata?.namespace,
      ...(t.metadata?.labels ? { labels: { ...t.metadata.labels } } : {}),
      annotations: { ...t.metadata?.annotations, [ANNOTATION_SCHEDULED]: iso(scheduled) },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(t.spec ?? { template: { spec: { containers: [] } } }),
  };
}

/** prunable returns the finished Jobs beyond successful/failedJobsHistoryLimit, oldest first. */
export function prunable(cj: CronJob, jobs: readonly Job[]): Job[] {
  const out: Job[] = [];
  const limits: Array<['Complete' | 'Failed', number]> = [['Complete', cj.spec?.successfulJobsHistoryLimit ?? 3], ['Failed', cj.spec?.failedJobsHistoryLimit ?? 1]];
  for (const [kind, limit] of limits) {
    const done = jobs.filter((j) => jobFinished(j) === kind && !j.metadata?.deletionTimestamp).sort((a, b) => startOf(a) - startOf(b));
    if (done.length > limit) out.push(...done.slice(0, done.length - limit));
  }
  return out;
}

function statusFor(cj: CronJob, jobs: readonly Job[]): CronJobStatus {
  const active = jobs.filter((j) => !jobFinished(j) && !j.metadata?.deletionTimestamp).sort((a, b) => startOf(a) - startOf(b));
  const lastSuccess = Math.max(0, ...jobs.filter((j) => jobFinished(j) === 'Complete').map((j) => Date.parse(j.status?.completionTime ?? '') || 0));
  const prev = Date.parse(cj.status?.lastSuccessfulTime ?? '') || 0;
  return {
    ...(active.length > 0 ? { active: active.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata?.name, namespace: j.metadata?.namespace, uid: j.metadata?.uid, resourceVersion: j.metadata?.resourceVersion })) } : {}),
    ...(cj.status?.lastScheduleTime ? { lastScheduleTime: cj.status.lastScheduleTime } : {}),
    ...(Math.max(lastSuccess, prev) > 0 ? { lastSuccessfulTime: iso(Math.max(lastSuccess, prev)) } : {}),
  };
}

/** planCronJob decides whether a Job starts now and what else changes. */
export function planCronJob(cj: CronJob, jobs: readonly Job[], now: number): CronJobPlan {
  const status = statusFor(cj, jobs);
  const plan: CronJobPlan = { replace: [], prune: prunable(cj, jobs), status };
  const schedule = new CronSchedule(cj.spec?.schedule ?? '', cj.spec?.timeZone ?? 'UTC');
  const { due, missed, next } = dueTime(cj, schedule, now);
  if (next !== undefined) plan.requeueAfterMs = Math.max(1, next - now);
  if (cj.spec?.suspend) return { ...plan, skipped: 'suspended' };
  if (due === undefined) return plan;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && due + deadline * 1000 < now) return { ...plan, skipped: 'missed the starting deadline' };
  const name = jobFor(cj, due).metadata!.name;
  if (jobs.some((j) => j.metadata?.name === name)) {
    // Already started (the status write was lost): record it and move on.
    status.lastScheduleTime = iso(due);
    return plan;
  }
  const active = jobs.filter((j) => !jobFinished(j) && !j.metadata?.deletionTimestamp);
  const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
  if (policy === 'Forbid' && active.length > 0) return { ...plan, skipped: 'concurrencyPolicy Forbid: a Job is still active' };
  if (policy === 'Replace') plan.replace = active;
  plan.create = jobFor(cj, due);
  status.lastScheduleTime = iso(due);
  if (missed > MAX_MISSED) plan.skipped = `too many missed start times (> ${MAX_MISSED}); check clock skew`;
  return plan;
}
