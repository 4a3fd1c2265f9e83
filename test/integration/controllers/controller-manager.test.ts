import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Endpoints, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { startServer, tempDir } from '../apiserver-stub/server-fixture.ts';
import { until } from '../../helpers/until.ts';

// The apiserver runs in-process on 127.0.0.1:0 (memory store); no node agent: the test plays kubelet by writing pod status.


function deployment(replicas: number, image = 'ferry/agnhost'): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'agnhost', image, args: ['netexec'], ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
  };
}

async function setup(t: import('ava').ExecutionContext) {
  const server = await startServer(t);
  const client = new ApiClient({ server: server.url });
  const manager = new ControllerManager({ client, maxEndpointsPerSlice: 2, resyncPeriodMs: 0, workers: { endpointslice: 2, endpoints: 2, replicaset: 2, deployment: 2 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  return { server, client };
}

const podsOf = async (client: ApiClient) => (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=web' })).items;

/** runAll plays kubelet: every live pod gets a node, an IP and Ready. */
async function runAll(client: ApiClient): Promise<void> {
  for (const p of await podsOf(client)) {
    if (p.status?.podIP || p.metadata?.deletionTimestamp) continue;
    const n = Number(p.metadata!.resourceVersion) % 250;
    await client.updateStatus(resources.pods, { ...p, status: { phase: 'Running', podIP: `10.244.1.${n + 2}`, conditions: [{ type: 'Ready', status: 'True' }] } });
  }
}

test('deployment → replicaset → pods; service → slices (2 per slice) and endpoints; scale down; rolling update', async (t) => {
  const { client } = await setup(t);
  await client.create(resources.deployments, deployment(4));
  const pods = await until('4 pods', async () => ((await podsOf(client)).length === 4 ? podsOf(client) : undefined));
  t.true(pods.every((p) => p.metadata?.ownerReferences?.[0]?.kind === 'ReplicaSet'));
  const hash = pods[0]!.metadata!.labels!['pod-template-hash'];
  t.truthy(hash);
  await runAll(client);
  await client.create<Service>(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } });
  const slices = await until('4 ready endpoints', async () => {
    const items = (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items;
    const ready = items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
    return ready.length === 4 ? items : undefined;
  });
  t.is(slices.length, 2);
  t.deepEqual(slices[0]!.ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
  const ep = await until('endpoints', async () => {
    const e = await client.get<Endpoints>(resources.endpoints, 'web', { namespace: 'default' });
    return e.subsets?.[0]?.addresses?.length === 4 ? e : undefined;
  });
  t.is(ep.subsets![0]!.ports![0]!.port, 8080);
  const d = await until('deployment status', async () => {
    const x = await client.get<Deployment>(resources.deployments, 'web', { namespace: 'default' });
    return x.status?.availableReplicas === 4 && x.status.updatedReplicas === 4 ? x : undefined;
  });
  t.is(d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');

  // Scale down to 2 through the scale subresource, as `kubectl scale` does.
  await client.patch(resources.deployments, 'web', { spec: { replicas: 2 } }, 'merge', { namespace: 'default', subresource: 'scale' });
  await until('2 pods', async () => (await podsOf(client)).length === 2);
  await until('2 endpoints', async () => {
    const items = (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items;
    return items.flatMap((s) => s.endpoints ?? []).length === 2;
  });

  // Rolling update: a new template makes a second ReplicaSet; the old one ends at 0.
  await client.patch(resources.deployments, 'web', { spec: { template: { spec: { containers: [{ name: 'agnhost', image: 'ferry/agnhost:2' }] } } } }, 'strategic', { namespace: 'default' });
  const sets = await until('rollout to finish', async () => {
    await runAll(client);
    const rs = (await client.list<ReplicaSet>(resources.replicasets, { namespace: 'default' })).items;
    const done = rs.length === 2 && rs.some((r) => r.spec?.replicas === 0) && rs.some((r) => r.spec?.replicas === 2 && r.status?.availableReplicas === 2);
    return done ? rs : undefined;
  });
  const fresh = sets.find((r) => r.spec?.replicas === 2)!;
  t.is(fresh.spec?.template?.spec?.containers[0]?.image, 'ferry/agnhost:2');
  t.is(fresh.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
  const live = await until('old pods gone', async () => {
    const ps = (await podsOf(client)).filter((p) => !p.metadata?.deletionTimestamp);
    return ps.length === 2 && ps.every((p) => p.metadata?.labels?.['pod-template-hash'] !== hash) ? ps : undefined;
  });
  t.is(live.length, 2);
});

test('a service without a selector is left alone; deleting a service removes its slices', async (t) => {
  const { client } = await setup(t);
  await client.create<Service>(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
  await client.create<Service>(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } });
  const placeholder = await until('placeholder slice', async () => {
    const items = (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=empty' })).items;
    return items.length === 1 ? items[0] : undefined;
  });
  t.deepEqual(placeholder.endpoints ?? [], []);
  await sleep(300);
  const manual = (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=manual' })).items;
  t.deepEqual(manual, []);
  await client.delete(resources.services, 'empty', { namespace: 'default' });
  await until('slices removed', async () => (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=empty' })).items.length === 0);
  t.pass();
});

test('controllers survive an apiserver restart: the informers relist and work resumes', async (t) => {
  const dataDir = await tempDir(t, 'ferry-cm-restart-');
  const first = await startServer(t, 'file', { dataDir });
  const client = new ApiClient({ server: first.url });
  const manager = new ControllerManager({ client, maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  await client.create(resources.deployments, deployment(1));
  await until('first pod', async () => (await podsOf(client)).length === 1);
  await first.close();
  await sleep(500);
  await startServer(t, 'file', { dataDir }, {}, first.port);
  const d2 = deployment(2);
  d2.metadata!.name = 'api';
  d2.spec!.selector = { matchLabels: { app: 'api' } };
  d2.spec!.template.metadata!.labels = { app: 'api' };
  await until('create after restart', async () => client.create(resources.deployments, d2));
  const pods = await until('pods of the deployment made after the restart', async () => {
    const items = (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=api' })).items;
    return items.length === 2 ? items : undefined;
  });
  t.is(pods.length, 2);
});

test('node lifecycle: a silent node goes Unknown and is tainted unreachable; a NotReady node gets not-ready', async (t) => {
  const server = await startServer(t);
  const client = new ApiClient({ server: server.url });
  const manager = new ControllerManager({ client, controllers: ['nodelifecycle'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 }, nodeMonitor: { gracePeriodMs: 2000, periodMs: 200 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const beat = (ago: number) => new Date(Date.now() - ago).toISOString().replace(/\.\d+Z$/, 'Z');
  const node = (name: string, ready: string, ago: number): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: beat(ago) }] } });
  await client.create(resources.nodes, node('silent', 'True', 120_000));
  await client.create(resources.nodes, node('sick', 'False', 0));
  await client.create(resources.nodes, node('fine', 'True', 0));
  const silent = await until('silent tainted', async () => {
    const n = await client.get<Node>(resources.nodes, 'silent');
    return n.spec?.taints?.some((x) => x.key === 'node.kubernetes.io/unreachable') ? n : undefined;
  });
  t.is(silent.status?.conditions?.[0]?.status, 'Unknown');
  const sick = await until('sick tainted', async () => {
    const n = await client.get<Node>(resources.nodes, 'sick');
    return n.spec?.taints?.length ? n : undefined;
  });
  t.deepEqual(sick.spec?.taints, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
  const fine = await client.get<Node>(resources.nodes, 'fine');
  t.is(fine.spec?.taints, undefined);
});
