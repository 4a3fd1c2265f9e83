import test from 'ava';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, kubectlOld, until, workbench } from './workload-fixture.ts';

/** Issue 18: the DaemonSet controller driven by kubectl, over Node objects registered by the test (no node agent). */

function node(name: string, o: { labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints'] } = {}): Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}) },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const manifest = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      containers: [{name: agent, image: "busybox:1"}]
`;

for (const bin of [kubectlBin, ...(kubectlOld ? [kubectlOld] : [])]) test(`${bin}: one pod per eligible node, bound to it; a node joining later gets one; a rolling update completes`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['daemonset'], fate: () => 'run', kubectl: bin });
  const linux = { 'kubernetes.io/os': 'linux' };
  await client.create(resources.nodes, node('n1', { labels: linux }));
  await client.create(resources.nodes, node('n2', { labels: linux, taints: [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }] }));
  await client.create(resources.nodes, node('other', { labels: { 'kubernetes.io/os': 'windows' } }));
  await client.create(resources.nodes, node('tainted', { labels: linux, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }));
  await k(['apply', '-f', '-'], { input: manifest });
  await k(['rollout', 'status', 'daemonset/agent', '--timeout=30s']);
  const placed = async () => (await pods('app=agent')).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.nodeName).sort();
  t.deepEqual(await placed(), ['n1', 'n2'], 'not on the windows node nor the untolerated taint; memory-pressure is tolerated');
  const ds = await client.get<DaemonSet>(resources.daemonsets, 'agent', { namespace: 'default' });
  t.like(ds.status, { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberMisscheduled: 0, observedGeneration: ds.metadata?.generation });
  await until('the DaemonSet\'s events', async () => /SuccessfulCreate\s+\S+\s+daemonset-controller\s+Created pod: agent-\w+/.test(await k(['describe', 'ds', 'agent'])));
  t.regex(await k(['get', 'ds', 'agent']), /agent\s+2\s+2\s+2\s+2\s+2\s+kubernetes.io\/os=linux/);

  await client.create(resources.nodes, node('n3', { labels: linux }));
  await until('a pod on the new node', async () => (await placed()).includes('n3'));
  await k(['rollout', 'status', 'daemonset/agent', '--timeout=30s']);
  t.deepEqual(await placed(), ['n1', 'n2', 'n3']);

  const before = new Set((await pods('app=agent')).map((p) => p.metadata?.name));
  await k(['set', 'image', 'daemonset/agent', 'agent=busybox:2']);
  await k(['rollout', 'status', 'daemonset/agent', '--timeout=40s']);
  const after = await until('old pods gone', async () => {
    const ps = await pods('app=agent');
    return ps.length === 3 && ps.every((p) => !p.metadata?.deletionTimestamp) ? ps : undefined;
  });
  t.true(after.every((p) => !before.has(p.metadata?.name) && p.spec?.containers[0]?.image === 'busybox:2'));
  t.deepEqual(after.map((p) => p.spec?.nodeName).sort(), ['n1', 'n2', 'n3']);
  t.is(new Set(after.map((p) => p.metadata?.labels?.['controller-revision-hash'])).size, 1);

  // A label change that makes a node ineligible removes its pod.
  await client.patch(resources.nodes, 'n1', { metadata: { labels: { 'kubernetes.io/os': 'windows' } } }, 'merge');
  await until('n1 emptied', async () => !(await placed()).includes('n1'));
  await until('status follows', async () => (await client.get<DaemonSet>(resources.daemonsets, 'agent', { namespace: 'default' })).status?.desiredNumberScheduled === 2);
});

test(`${kubectlBin}: minReadySeconds: numberAvailable follows numberReady once the pod has been ready that long`, async (t) => {
  const { client, k } = await workbench(t, { controllers: ['daemonset'], fate: () => 'run' });
  await client.create(resources.nodes, node('n1', { labels: { 'kubernetes.io/os': 'linux' } }));
  await k(['apply', '-f', '-'], { input: manifest.replace('  updateStrategy:', '  minReadySeconds: 2\n  updateStrategy:') });
  const get = () => client.get<DaemonSet>(resources.daemonsets, 'agent', { namespace: 'default' });
  await until('ready', async () => (await get()).status?.numberReady === 1);
  await until('available', async () => (await get()).status?.numberAvailable === 1, 10_000);
  // Ready times have 1 s resolution, so 2 s of minReadySeconds is at least 1 s after the pod's.
  const { items } = await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=agent' });
  const readyAt = Date.parse(items[0]?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
  t.true(Date.now() - readyAt >= 1000, `available only after minReadySeconds (${Date.now() - readyAt} ms after ready)`);
  await k(['rollout', 'status', 'daemonset/agent', '--timeout=20s']);
});
