import test from 'ava';
import type { DaemonSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { oneNodeLab, until } from './node-fixture.ts';
import { AGENT_DAEMONSET, statefulSetYaml } from '../../helpers/workload-manifests.ts';

/**
 * Issue 18: the workload controllers with a real node agent (one node in
 * network namespaces): a Job's busybox pods run to completion (3, two at a
 * time) and a failing one stops at backoffLimit; a CronJob on a test-speed
 * clock runs Jobs and keeps two successful ones; a StatefulSet's pods start in order and run;
 * a DaemonSet's pod runs on the node without the scheduler's help.
 */
const rootOnly = isRoot ? test.serial : test.skip;

const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: count, namespace: default}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "echo counted; sleep 1"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "exit 3"]}]
---
${statefulSetYaml('web', 2, '{name: c, image: busybox, command: [sh, -c, "echo $HOSTNAME; exec sleep 3600"]}')}---
${AGENT_DAEMONSET}---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: default}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: [sh, -c, "echo hello"]}]
`;

/** A test-speed clock for the CronJob controller: one cluster minute every 1.5 s, so `*\/1 * * * *` fires that often. */
function fastClock(): () => number {
  const start = Date.now();
  return () => start + (Date.now() - start) * 40;
}

rootOnly('Job, CronJob, StatefulSet and DaemonSet run real pods on a lab node', async (t) => {
  const lab = await oneNodeLab(t);
  const client = new ApiClient({ server: lab.url }, { connections: 16 });
  const manager = new ControllerManager({
    client, controllers: ['job', 'cronjob', 'statefulset', 'daemonset', 'garbagecollector'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0,
    workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 }, workloads: { now: fastClock(), cronJobTickMs: 100 },
  });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const apply = await lab.k(['apply', '-f', '-'], yaml);
  t.is(apply.code, 0, apply.stderr);
  const job = (name: string) => client.get<Job>(resources.jobs, name, { namespace: 'default' });
  // parallelism 2: never more than two of the Job's pods running at once.
  let mostRunning = 0;
  await until('count complete', async () => {
    const running = (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'job-name=count' })).items.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
    mostRunning = Math.max(mostRunning, running.length);
    return (await job('count')).status?.conditions?.some((c) => c.type === 'Complete');
  }, 60_000);
  t.is((await job('count')).status?.succeeded, 3);
  t.true(mostRunning >= 1 && mostRunning <= 2, `at most 2 pods at once (saw ${mostRunning})`);
  // The node agent reports logs as they come: wait for them rather than read at once.
  await until('the Job\'s log', async () => (await lab.k(['logs', 'job/count'])).stdout === 'counted\n');

  // The CronJob's Jobs run real pods; only the last two successful ones are kept.
  const cronJobs = async () => (await client.list<Job>(resources.jobs, { namespace: 'default' })).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === 'hello' && !j.metadata?.deletionTimestamp);
  const seen = new Set<string>();
  await until('four Jobs of the CronJob', async () => {
    for (const j of await cronJobs()) seen.add(j.metadata!.name!);
    return seen.size >= 4;
  }, 60_000);
  await until('at most 2 finished Jobs kept', async () => (await cronJobs()).filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete')).length <= 2);
  const complete = (await cronJobs()).filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete'));
  t.true(complete.length >= 1, 'the CronJob\'s Jobs complete on the node');
  // Re-listed each time: the kept Jobs turn over (history limit 2) while the clock runs fast.
  const isComplete = (j: Job) => j.status?.conditions?.some((c) => c.type === 'Complete');
  await until('a CronJob Job\'s log', async () => {
    for (const j of (await cronJobs()).filter(isComplete)) if ((await lab.k(['logs', `job/${j.metadata!.name}`])).stdout === 'hello\n') return true;
    return false;
  });
  await lab.k(['patch', 'cronjob', 'hello', '-p', '{"spec":{"suspend":true}}']);
  await until('broken failed', async () => (await job('broken')).status?.conditions?.some((c) => c.type === 'Failed' && c.reason === 'BackoffLimitExceeded'), 60_000);

  const pods = async (sel: string) => (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: sel })).items;
  await until('web-0 and web-1 running and ready', async () => {
    const s = await client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' });
    return s.status?.readyReplicas === 2;
  }, 60_000);
  const [w0, w1] = (await pods('app=web')).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  t.true(Date.parse(w1!.metadata!.creationTimestamp!) >= Date.parse(w0!.metadata!.creationTimestamp!), 'web-1 created after web-0');
  await until('web-1 says its hostname (its name)', async () => (await lab.k(['logs', 'web-1'])).stdout === 'web-1\n');

  await until('the daemon pod running on node-a', async () => {
    const ds = await client.get<DaemonSet>(resources.daemonsets, 'agent', { namespace: 'default' });
    return ds.status?.numberReady === 1 && ds.status.desiredNumberScheduled === 1;
  }, 60_000);
  const [daemon] = await pods('app=agent');
  t.is(daemon!.spec?.nodeName, 'node-a');
  t.is(daemon!.status?.phase, 'Running');
});
