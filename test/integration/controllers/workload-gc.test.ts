import test from 'ava';
import { resources } from '../../../src/client/resources.ts';
import { until, workbench } from './workload-fixture.ts';
import { AGENT_DAEMONSET, statefulSetYaml } from '../../helpers/workload-manifests.ts';

/**
 * Issue 18: deleting a workload deletes what it made, as in kube. The garbage
 * collector watches StatefulSets, DaemonSets, Jobs and CronJobs, so
 * `kubectl delete statefulset web` removes web-0 and web-1, and deleting a
 * DaemonSet removes its pods (before, their owners counted as present and the
 * pods ran on).
 */
const manifest = `${statefulSetYaml('web', 2, '{name: c, image: nginx}')}---
${AGENT_DAEMONSET}`;

test('kubectl delete of a StatefulSet and a DaemonSet deletes their pods', async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['statefulset', 'daemonset', 'garbagecollector'], fate: () => 'run' });
  await client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  await k(['apply', '-f', '-'], { input: manifest });
  await until('web-0, web-1 and the daemon pod', async () => (await pods()).length === 3, 30_000);
  await k(['delete', 'statefulset/web']);
  await until('the StatefulSet\'s pods deleted', async () => (await pods('app=web')).length === 0, 30_000);
  t.is((await pods('app=agent')).length, 1, 'the DaemonSet\'s pod stays');
  await k(['delete', 'daemonset/agent']);
  await until('the DaemonSet\'s pod deleted', async () => (await pods('app=agent')).length === 0, 30_000);
  t.deepEqual(await pods(), []);
});
