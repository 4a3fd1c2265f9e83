import test from 'ava';
import type { DaemonSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/endpoints/client/api-client.ts';
import { resources } from '../../../src/endpoints/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { oneNodeLab, until } from './node-fixture.ts';

/**
 * Issue 18: the workload controllers with a real node agent (one node in
 * network namespaces): a Job's busybox pods run to completion and a failing
 * one stops at backoffLimit; a StatefulSet's pods start in order and run;
 * a DaemonSet's pod runs on the node without the scheduler's help.
 */
const rootOnly = isRoot ? test.serial : test.skip;

const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: count, namespace: default}
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "echo counted"]}]
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
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox, command: [sh, -c, "echo $HOSTNAME; exec sleep 3600"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`;

rootOnly('Job, StatefulSet and DaemonSet run real pods on a lab node', async (t) => {
  const lab = await oneNodeLab(t);
  const client = new ApiClient({ server: lab.url }, { connections: 16 });
  const manager = new ControllerManager({ client, controllers: ['job', 'statefulset', 'daemonset'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const apply = await lab.k(['apply', '-f', '-'], yaml);
  t.is(apply.code, 0, apply.stderr);
  const job = (name: string) => client.get<Job>(resources.jobs, name, { namespace: 'default' });
  await until('count complete', async () => (await job('count')).status?.conditions?.some((c) => c.type === 'Complete'), 60_000);
  t.is((await job('count')).status?.succeeded, 2);
  // The node agent reports logs as they come: wait for them rather than read at once.
  await until('the Job\'s log', async () => (await lab.k(['logs', 'job/count'])).stdout === 'counted\n');
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
