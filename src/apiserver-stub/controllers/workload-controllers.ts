import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound } from '../../client/errors.ts';
import type { SharedInformers } from './informers.ts';
import { CronJobController } from './cronjob-controller.ts';
import { DaemonSetController } from './daemonset-controller.ts';
import { JobController } from './job-controller.ts';
import { StatefulSetController } from './statefulset-controller.ts';
import type { WorkloadInformers } from './workload-informers.ts';

/** The workload controllers beyond Deployments, each in its own files; the manager asks this module for them. */
export const WORKLOAD_CONTROLLER_NAMES = ['job', 'daemonset', 'statefulset', 'cronjob'] as const;

export interface WorkloadOptions {
  /** Workers per controller (default 2 each). */
  workers?: Partial<Record<(typeof WORKLOAD_CONTROLLER_NAMES)[number], number>>;
  /** The clock of the time-driven controllers (tests move it). */
  now?: () => number;
  /** How often every CronJob is looked at besides its own requeue (default 10 s). */
  cronJobTickMs?: number;
  /** Base of the Job pod-failure back-off (kube: 10 s). */
  jobBackoffBaseMs?: number;
}

interface Common {
  client: ApiClient;
  informers: SharedInformers;
  workloads: WorkloadInformers;
}

type Runnable = { run(): void; halt?(): void; controller: { stop(): Promise<void>; queue: { idle: boolean } } };

export function addWorkloadControllers(names: readonly string[], common: Common, o: WorkloadOptions): Runnable[] {
  const out: Runnable[] = [];
  const workers = (n: (typeof WORKLOAD_CONTROLLER_NAMES)[number]) => o.workers?.[n] ?? 2;
  const clock = o.now ? { now: o.now } : {};
  if (names.includes('job')) {
    out.push(new JobController({ ...common, ...clock, workers: workers('job'), ...(o.jobBackoffBaseMs !== undefined ? { backoffBaseMs: o.jobBackoffBaseMs } : {}) }));
  }
  if (names.includes('daemonset')) out.push(new DaemonSetController({ ...common, ...clock, workers: workers('daemonset') }));
  if (names.includes('statefulset')) out.push(new StatefulSetController({ ...common, ...clock, workers: workers('statefulset') }));
  if (names.includes('cronjob')) out.push(new CronJobController({ client: common.client, workloads: common.workloads, ...clock, workers: workers('cronjob'), ...(o.cronJobTickMs !== undefined ? { tickMs: o.cronJobTickMs } : {}) }));
  return out;
}

/** ignoreNotFound lets a status write on an object deleted meanwhile pass: there is nothing left to report on. */
export function ignoreNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}
