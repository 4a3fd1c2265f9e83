import type { Pod } from 'kubernetes-types/core/v1.js';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ApiClient } from '../../src/client/api-client.ts';
import { resources } from '../../src/client/resources.ts';
import type { Figure } from '../../src/bench/result.ts';
import { labPaths } from '../../src/lab/cluster/state.ts';

/**
 * scripts/bench/lab's workload half, in a running `ferry up` lab: the time
 * from creating a Deployment of `--pods` (100) pause pods to all of them
 * Ready, and from creating a StatefulSet of `--replicas` (10) nginx pods
 * (OrderedReady: one at a time) to all Ready, with where the time went
 * (scheduled, running, Ready per pod). Each workload is deleted, and its pods
 * waited out, before the next. Usage:
 *   node --import tsx scripts/bench/lab-workloads.ts --name bench-lab [--pods 100] [--replicas 10] [--figures FILE]
 */
const { values } = parseArgs({ options: { name: { type: 'string', default: 'bench-lab' }, pods: { type: 'string', default: '100' }, replicas: { type: 'string', default: '10' }, figures: { type: 'string' } } });
const client = new ApiClient({ server: `unix://${labPaths(values.name!).socket}` }, { userAgent: 'ferry-bench-lab' });
const ns = 'default';

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const listPods = async (app: string) => (await client.list<Pod>(resources.pods, { namespace: ns, labelSelector: `app=${app}` })).items;

/** waitAllReady polls the pods of `app` until `count` are Ready; the seconds from `t0` when each was first seen scheduled, running and Ready. */
async function waitAllReady(app: string, count: number, t0: number, timeoutMs: number): Promise<{ scheduled: number; running: number; ready: number }> {
  const seen = { scheduled: new Set<string>(), running: new Set<string>(), ready: new Set<string>() };
  const last = { scheduled: 0, running: 0, ready: 0 };
  for (;;) {
    const now = (performance.now() - t0) / 1000;
    for (const p of await listPods(app)) {
      const name = p.metadata!.name!;
      const mark = (what: keyof typeof seen, yes: boolean) => {
        if (yes && !seen[what].has(name)) {
          seen[what].add(name);
          last[what] = now;
        }
      };
      mark('scheduled', p.spec?.nodeName !== undefined);
      mark('running', p.status?.phase === 'Running');
      mark('ready', isReady(p));
    }
    if (seen.ready.size >= count) return last;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${app}: ${seen.ready.size}/${count} Ready after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

async function waitGone(app: string): Promise<void> {
  const end = Date.now() + 120_000;
  while ((await listPods(app)).length > 0 && Date.now() < end) await sleep(200);
}

const template = (app: string, image: string) => ({ metadata: { labels: { app } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image }] } });

async function deployment(count: number): Promise<number> {
  const t0 = performance.now();
  await client.create(resources.deployments, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench-pause', namespace: ns }, spec: { replicas: count, selector: { matchLabels: { app: 'bench-pause' } }, template: template('bench-pause', 'registry.k8s.io/pause:3.10') } });
  const last = await waitAllReady('bench-pause', count, t0, 120_000);
  console.log(`Deployment of ${count} pause pods: all Ready in ${last.ready.toFixed(2)} s (last scheduled at ${last.scheduled.toFixed(2)} s, last running at ${last.running.toFixed(2)} s)`);
  await client.delete(resources.deployments, 'bench-pause', { namespace: ns }, { propagationPolicy: 'Foreground' });
  await waitGone('bench-pause');
  return last.ready;
}

async function statefulSet(replicas: number): Promise<number> {
  await client.create(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench-web', namespace: ns }, spec: { clusterIP: 'None', selector: { app: 'bench-web' }, ports: [{ port: 80 }] } });
  const t0 = performance.now();
  await client.create(resources.statefulsets, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'bench-web', namespace: ns }, spec: { serviceName: 'bench-web', replicas, selector: { matchLabels: { app: 'bench-web' } }, template: template('bench-web', 'nginx') } });
  const last = await waitAllReady('bench-web', replicas, t0, 120_000);
  console.log(`StatefulSet of ${replicas} nginx pods (OrderedReady): all Ready in ${last.ready.toFixed(2)} s (${(last.ready / replicas).toFixed(2)} s per pod)`);
  await client.delete(resources.statefulsets, 'bench-web', { namespace: ns });
  await client.delete(resources.services, 'bench-web', { namespace: ns });
  await waitGone('bench-web');
  return last.ready;
}

try {
  const pods = Number(values.pods);
  const replicas = Number(values.replicas);
  const deploy = await deployment(pods);
  const sts = await statefulSet(replicas);
  const figures: Figure[] = [
    { id: 'deployment_ready_s', label: `Deployment of ${pods} pods (3 nodes) until all Ready`, value: deploy, unit: 's', goal: { op: '<=', value: 10 } },
    { id: 'statefulset_ready_s', label: `StatefulSet of ${replicas} replicas (OrderedReady) until all Ready`, value: sts, unit: 's', goal: { op: '<=', value: 15 } },
  ];
  if (values.figures) writeFileSync(values.figures, JSON.stringify(figures));
} finally {
  await client.close();
}
