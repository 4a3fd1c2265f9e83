import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { SchedulerService } from '../../../src/apiserver-stub/scheduler/service.ts';
import { startServer } from '../apiserver-stub/server-fixture.ts';

// Nodes here are plain Node objects (no agent); the scheduler binds through pods/binding of the in-process apiserver.

async function until<T>(what: string, get: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await get();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function node(name: string, o: { cpu?: string; labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints'] } = {}): Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}) },
    status: { capacity: { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pod(name: string, o: { cpu?: string; nodeSelector?: Record<string, string>; tolerations?: NonNullable<Pod['spec']>['tolerations'] } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [{ name: 'c', image: 'ferry/agnhost', args: ['netexec'], ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}) }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
  };
}

async function setup(t: import('ava').ExecutionContext) {
  const server = await startServer(t);
  const client = new ApiClient({ server: server.url });
  const service = new SchedulerService({ client, percentageOfNodesToScore: 0, schedulerName: 'default-scheduler', unschedulableFlushMs: 60_000 });
  await service.start();
  t.teardown(async () => {
    await service.stop();
    await client.close();
  });
  const get = (name: string) => client.get<Pod>(resources.pods, name, { namespace: 'default' });
  return { client, get };
}

test('a nodeSelector matching no node stays Pending with the reason, and is bound when a matching node appears', async (t) => {
  const { client, get } = await setup(t);
  await client.create(resources.nodes, node('a'));
  await client.create(resources.pods, pod('picky', { nodeSelector: { disk: 'ssd' } }));
  const pending = await until('PodScheduled=False', async () => {
    const p = await get('picky');
    return p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') ? p : undefined;
  });
  t.is(pending.status?.phase, 'Pending');
  t.like(pending.status?.conditions?.find((c) => c.type === 'PodScheduled'), { reason: 'Unschedulable', message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector." });
  const events = await until('a FailedScheduling event', async () => {
    const items = (await client.list<{ reason?: string; message?: string; involvedObject?: { name?: string } } & { metadata?: { name?: string } }>(resources.events, { namespace: 'default' })).items;
    const mine = items.filter((e) => e.involvedObject?.name === 'picky' && e.reason === 'FailedScheduling');
    return mine.length > 0 ? mine : undefined;
  });
  t.is(events[0]!.message, "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.");
  await client.create(resources.nodes, node('b', { labels: { disk: 'ssd' } }));
  const bound = await until('binding', async () => {
    const p = await get('picky');
    return p.spec?.nodeName ? p : undefined;
  });
  t.is(bound.spec?.nodeName, 'b');
});

test('requests beyond a node\'s allocatable go elsewhere; a NoSchedule taint is respected', async (t) => {
  const { client, get } = await setup(t);
  await client.create(resources.nodes, node('small', { cpu: '1' }));
  await client.create(resources.nodes, node('big', { cpu: '4' }));
  await client.create(resources.nodes, node('tainted', { cpu: '8', taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }));
  for (let i = 0; i < 3; i++) await client.create(resources.pods, pod(`big-${i}`, { cpu: '1200m' }));
  await client.create(resources.pods, pod('tolerant', { cpu: '5', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] }));
  const nodes = await until('all bound', async () => {
    const ps = await Promise.all(['big-0', 'big-1', 'big-2', 'tolerant'].map(get));
    return ps.every((p) => p.spec?.nodeName) ? ps.map((p) => p.spec!.nodeName) : undefined;
  });
  t.deepEqual(nodes.slice(0, 3), ['big', 'big', 'big']);
  t.is(nodes[3], 'tainted');
  // A fourth 1200m pod fits nowhere untainted (4 − 3·1.2 = 0.4 left on big, 1 on small).
  await client.create(resources.pods, pod('big-3', { cpu: '1200m' }));
  const p = await until('unschedulable', async () => {
    const x = await get('big-3');
    return x.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  });
  t.is(p.message, '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu.');
  // Deleting a big pod frees room: the waiting pod is bound there.
  await client.delete(resources.pods, 'big-0', { namespace: 'default' });
  const late = await until('bound after room freed', async () => (await get('big-3')).spec?.nodeName);
  t.is(late, 'big');
});
