import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { verdict } from './job-failure-policy.ts';
import { compressIndexes, isIndexed, pendingIndexes, succeededIndexes, withIndex } from './job-indexed.ts';
import { isPodReady } from './pod-endpoint.ts';
import { compareForDeletion, isPodActive } from './replicaset-reconcile.ts';

/**
 * The Job controller's reconcile math as pure functions (kube-controller-
 * manager `job_controller.go` `syncJob`, `manageJob`, `backoff_utils.go`):
 * how many pods to create or delete, when the Job has failed or completed,
 * the back-off after pod failures, and the status to report.
 */

export const LABEL_JOB_NAME = 'batch.kubernetes.io/job-name';
export const LABEL_CONTROLLER_UID = 'batch.kubernetes.io/controller-uid';

/** kube's DefaultJobPodFailureBackOff and the documented cap ("capped at six minutes"). */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 6 * 60_000;

export interface JobTiming {
  now: number;
  /** Base of the pod-failure back-off (tests shorten it). */
  backoffBaseMs?: number;
}

export interface JobPlan {
  create: number;
  /** Indexed Jobs: the completion index of each pod to create. */
  indexes?: number[];
  /** Active pods to delete: surplus over parallelism, or all of them once the Job has finished. */
  delete: Pod[];
  status: JobStatus;
  /** Look again after this long (back-off end, deadline, TTL), if anything is due later. */
  requeueAfterMs?: number;
  /** ttlSecondsAfterFinished has passed: delete the Job (and, by cascade, its pods). */
  deleteJob: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** finishedAt is when a terminal pod ended: its last container's finishedAt, else its newest condition change, else its creation. */
export function finishedAt(pod: Pod): number {
  let t = 0;
  for (const c of pod.status?.containerStatuses ?? []) t = Math.max(t, Date.parse(c.state?.terminated?.finishedAt ?? '') || 0);
  if (t === 0) for (const c of pod.status?.conditions ?? []) t = Math.max(t, Date.parse(c.lastTransitionTime ?? '') || 0);
  return t || Date.parse(pod.metadata?.creationTimestamp ?? '') || 0;
}

/**
 * nextCreateAt applies kube's pod-failure back-off: after n failures since
 * the last success, no new pod before the last failure + base·2^(n-1),
 * capped at six minutes.
 */
export function nextCreateAt(pods: readonly Pod[], baseMs = POD_FAILURE_BACKOFF_MS): number {
  const lastSuccess = Math.max(0, ...pods.filter((p) => p.status?.phase === 'Succeeded').map(finishedAt));
  const failures = pods.filter((p) => p.status?.phase === 'Failed').map(finishedAt).filter((t) => t >= lastSuccess);
  if (failures.length === 0) return 0;
  const delay = Math.min(baseMs * 2 ** (failures.length - 1), MAX_POD_FAILURE_BACKOFF_MS);
  return Math.max(...failures) + delay;
}

/** restartsOnFailure: with restartPolicy OnFailure, container restarts count against backoffLimit (kube's pastBackoffLimitOnFailure). */
function restartsOnFailure(job: Job, active: readonly Pod[]): number {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return 0;
  let n = 0;
  for (const p of active) for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) n += c.restartCount;
  return n;
}

function condition(type: 'Complete' | 'Failed', reason: string, message: string, now: number): JobCondition {
  return { type, status: 'True', lastProbeTime: iso(now), lastTransitionTime: iso(now), reason, message };
}

/** failure tells why the Job fails now, if it does. */
function failure(job: Job, failed: number, active: readonly Pod[], startTime: number, now: number, policyFailure?: string): JobCondition | undefined {
  if (policyFailure) return condition('Failed', 'PodFailurePolicy', policyFailure, now);
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  const restarts = restartsOnFailure(job, active);
  const pastOnFailure = backoffLimit === 0 ? restarts > 0 : restarts > 0 && restarts >= backoffLimit;
  if (failed > backoffLimit || pastOnFailure) {
    return condition('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
  }
  const deadline = job.spec?.activeDeadlineSeconds;
  if (deadline !== undefined && now - startTime >= deadline * 1000) return condition('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
  return undefined;
}

/** wantActive is how many pods should run: parallelism, but no more than the completions left (none once a work-queue Job has a success). */
function wantActive(job: Job, succeeded: number): number {
  if (job.spec?.suspend) return 0;
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) return succeeded > 0 ? 0 : parallelism;
  return Math.max(0, Math.min(parallelism, completions - succeeded));
}

function isComplete(job: Job, succeeded: number, active: number): boolean {
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) return succeeded > 0 && active === 0;
  return succeeded >= completions;
}

/** ttlPlan: once finished, the Job is deleted ttlSecondsAfterFinished later (kube's ttl-after-finished controller). */
function ttlPlan(job: Job, status: JobStatus, now: number): Pick<JobPlan, 'deleteJob' | 'requeueAfterMs'> {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  const done = status.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (ttl === undefined || ttl === null || !done) return { deleteJob: false };
  const at = (Date.parse(status.completionTime ?? done.lastTransitionTime ?? '') || now) + ttl * 1000;
  return at <= now ? { deleteJob: true } : { deleteJob: false, requeueAfterMs: at - now };
}

function minDefined(...xs: Array<number | undefined>): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined && x > 0);
  return d.length > 0 ? Math.min(...d) : undefined;
}

/** planJob compares the pods the Job owns with its spec and decides the next step. */
export function planJob(job: Job, ownedPods: readonly Pod[], t: JobTiming): JobPlan {
  const now = t.now;
  const active = ownedPods.filter(isPodActive);
  // Indexed: an index counts once, however many of its pods succeeded.
  const doneIndexes = isIndexed(job) ? succeededIndexes(job, ownedPods) : undefined;
  const succeeded = doneIndexes ? doneIndexes.size : ownedPods.filter((p) => p.status?.phase === 'Succeeded').length;
  // podFailurePolicy: ignored failures are not counted (nor backed off from); a FailJob match fails the Job.
  const verdicts = ownedPods.filter((p) => p.status?.phase === 'Failed').map((p) => ({ p, v: verdict(job, p) }));
  const ignored = new Set(verdicts.filter((x) => x.v.action === 'Ignore').map((x) => x.p));
  const failed = verdicts.length - ignored.size;
  const failJob = verdicts.map((x) => x.v).find((v) => v.action === 'FailJob');
  const counted = ownedPods.filter((p) => !ignored.has(p));
  const suspended = job.spec?.suspend === true;
  const started = job.status?.startTime ? Date.parse(job.status.startTime) : suspended ? undefined : now;
  const status: JobStatus = {
    ...(job.status?.conditions?.length ? { conditions: job.status.conditions } : {}),
    ...(started !== undefined ? { startTime: job.status?.startTime ?? iso(started) } : {}),
    ...(job.status?.completionTime ? { completionTime: job.status.completionTime } : {}),
    // kube omits zero active/succeeded/failed (omitempty); ready and terminating are pointers, so 0 shows.
    ...(active.length > 0 ? { active: active.length } : {}),
    ready: active.filter(isPodReady).length,
    ...(succeeded > 0 ? { succeeded } : {}),
    ...(failed > 0 ? { failed } : {}),
    terminating: ownedPods.filter((p) => p.metadata?.deletionTimestamp && isTerminating(p)).length,
    ...(doneIndexes && doneIndexes.size > 0 ? { completedIndexes: compressIndexes(doneIndexes) } : {}),
  };
  const plan: JobPlan = { create: 0, delete: [], status, deleteJob: false };

  if (finishedCondition(job)) {
    plan.delete = active;
    return { ...plan, ...ttlPlan(job, status, now) };
  }
  const failedNow = started !== undefined ? failure(job, failed, active, started, now, failJob?.action === 'FailJob' ? failJob.message : undefined) : undefined;
  if (failedNow) {
    status.conditions = [...(status.conditions ?? []), failedNow];
    plan.delete = active;
    return { ...plan, ...ttlPlan(job, status, now) };
  }
  if (!suspended && isComplete(job, succeeded, active.length)) {
    status.conditions = [...(status.conditions ?? []), condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', now)];
    status.completionTime = iso(now);
    plan.delete = active;
    return { ...plan, ...ttlPlan(job, status, now) };
  }

  const want = wantActive(job, succeeded);
  let backoffWait: number | undefined;
  if (active.length > want) {
    plan.delete = [...active].sort(compareForDeletion).slice(0, active.length - want);
  } else if (active.length < want) {
    const notBefore = nextCreateAt(counted, t.backoffBaseMs);
    if (notBefore <= now) {
      plan.create = want - active.length;
      if (doneIndexes) {
        plan.indexes = pendingIndexes(job, doneIndexes, active, plan.create);
        plan.create = plan.indexes.length;
      }
    }
    else backoffWait = notBefore - now;
  }
  const deadline = job.spec?.activeDeadlineSeconds;
  const deadlineWait = deadline !== undefined && started !== undefined ? started + deadline * 1000 - now : undefined;
  const wait = minDefined(backoffWait, deadlineWait);
  if (wait !== undefined) plan.requeueAfterMs = wait;
  return plan;
}

/** isTerminating: being deleted and not yet terminal. */
function isTerminating(p: Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/** podForJob builds a Job's pod: generateName from the Job, its labels, a controller reference to it. */
export function podForJob(job: Job, index?: number): Pod {
  const template = job.spec?.template ?? {};
  const name = job.metadata?.name ?? '';
  const uid = job.metadata?.uid ?? '';
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-`,
      namespace: job.metadata?.namespace,
      labels: { ...template.metadata?.labels, [LABEL_CONTROLLER_UID]: uid, [LABEL_JOB_NAME]: name, 'controller-uid': uid, 'job-name': name },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
  return index === undefined ? pod : withIndex(pod, job, index);
}
