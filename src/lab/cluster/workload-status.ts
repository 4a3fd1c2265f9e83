import type { DaemonSet, Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';

/**
 * The workloads `ferry status` shows: how many of each kind, then one row
 * per object with what `kubectl get` would say is ready (pods ready over
 * wanted; a Job's completions; a CronJob's schedule and active Jobs).
 */

export interface WorkloadRow {
  kind: string;
  namespace: string;
  name: string;
  ready: string;
  detail: string;
}

const meta = (o: { metadata?: { namespace?: string; name?: string } }) => ({ namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' });

function jobState(j: Job): string {
  const done = j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  return done ? done.type : `active ${j.status?.active ?? 0}, failed ${j.status?.failed ?? 0}`;
}

/** workloadRows lists every Deployment, StatefulSet, DaemonSet, Job and CronJob. */
export async function workloadRows(client: ApiClient): Promise<WorkloadRow[]> {
  const [deploys, sets, daemons, jobs, crons] = await Promise.all([
    client.list<Deployment>(resources.deployments), client.list<StatefulSet>(resources.statefulsets), client.list<DaemonSet>(resources.daemonsets),
    client.list<Job>(resources.jobs), client.list<CronJob>(resources.cronjobs),
  ]);
  return [
    ...deploys.items.map((d) => ({ kind: 'Deployment', ...meta(d), ready: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, detail: `up-to-date ${d.status?.updatedReplicas ?? 0}` })),
    ...sets.items.map((s) => ({ kind: 'StatefulSet', ...meta(s), ready: `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`, detail: `service ${s.spec?.serviceName ?? '-'}` })),
    ...daemons.items.map((d) => ({ kind: 'DaemonSet', ...meta(d), ready: `${d.status?.numberReady ?? 0}/${d.status?.desiredNumberScheduled ?? 0}`, detail: `on ${d.status?.currentNumberScheduled ?? 0} node(s)` })),
    ...jobs.items.map((j) => ({ kind: 'Job', ...meta(j), ready: `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`, detail: jobState(j) })),
    ...crons.items.map((c) => ({
      kind: 'CronJob', ...meta(c), ready: '-',
      detail: `${c.spec?.schedule ?? ''}${c.spec?.suspend ? ' (suspended)' : ''}, active ${c.status?.active?.length ?? 0}, last ${c.status?.lastScheduleTime ?? 'never'}`,
    })),
  ];
}

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

/** workloadCounts is the summary line: `Workloads: 1 Deployment, 0 StatefulSets, ...`. */
export function workloadCounts(rows: readonly WorkloadRow[]): string {
  return `Workloads: ${KINDS.map((k) => {
    const n = rows.filter((r) => r.kind === k).length;
    return `${n} ${k}${n === 1 ? '' : 's'}`;
  }).join(', ')}`;
}
