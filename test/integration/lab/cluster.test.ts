import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { Informer } from '../../../src/client/informer.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { SchedulerService } from '../../../src/apiserver-stub/scheduler/service.ts';
import { NodeAgent } from '../../../src/lab/node-agent.ts';
import { podNamespace } from '../../../src/lab/node-network.ts';
import { execIn, listNamespaces } from '../../../src/lab/netns.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';
import { kubectl, startServer, tempDir } from '../apiserver-stub/server-fixture.ts';
import { until as poll } from '../../helpers/until.ts';
import { TEST_ROOT_CA } from './node-fixture.ts';

// Lab: switch 192.168.200.0/24; node a 192.168.200.11 pods 10.244.1.0/24; node b 192.168.200.12 pods 10.244.2.0/24.
// The apiserver, controllers, scheduler and both agents run in this process; pods are real processes in lab namespaces.

const rootOnly = isRoot ? test.serial : test.skip;

const until = <T>(what: string, get: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> => poll(what, get, ms, 200);

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

rootOnly('two nodes run a deployment; pods reach each other across nodes; endpoints follow readiness and deletion; nothing is left', async (t) => {
  const fx = new NetnsFixture(t);
  const prefix = fx.ns('');
  const server = await startServer(t);
  const cache = await tempDir(t, 'ferry-kubectl-');
  const k = async (...args: string[]) => {
    const r = await kubectl('/usr/bin/kubectl', server.url, cache, args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // One client per component, as separate processes would have (each watch holds a connection).
  const clients: ApiClient[] = [];
  const newClient = () => {
    const c = new ApiClient({ server: server.url }, { connections: 16 });
    clients.push(c);
    return c;
  };
  const client = newClient();
  const manager = new ControllerManager({ client: newClient(), rootCa: TEST_ROOT_CA, maxEndpointsPerSlice: 100, resyncPeriodMs: 60_000, workers: { endpointslice: 2, endpoints: 2, replicaset: 2, deployment: 2 } });
  const scheduler = new SchedulerService({ client: newClient(), percentageOfNodesToScore: 0, schedulerName: 'default-scheduler' });
  const agent = (name: string, n: number) => new NodeAgent({
    client: newClient(), nodeName: name, prefix, nodeAddress: `192.168.200.${10 + n}/24`, podCIDR: `10.244.${n}.0/24`, clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local',
    capacity: { cpu: '4', memory: '8Gi', pods: '110' }, labels: {}, taints: [], backoff: { initialMs: 500, maxMs: 2000 }, statusUpdateMs: 5000, stopGraceCapMs: 3000,
  });
  const agents = [agent('node-a', 1), agent('node-b', 2)];
  const readyFile = `/tmp/ferry-ready-${fx.id}`;
  t.teardown(async () => {
    rmSync(readyFile, { force: true });
    await Promise.all(agents.map((a) => a.stop()));
    await scheduler.stop();
    await manager.stop();
    await Promise.all(clients.map((c) => c.close()));
  });
  await Promise.all(agents.map((a) => a.start()));
  await manager.start();
  await scheduler.start();

  // (1) four netexec pods, Running and Ready, on both nodes; pod on a → pod on b by pod IP.
  // kubectl ≥ 1.32 sends this typed create as protobuf (src/kube/protobuf decodes it).
  await k('create', 'deployment', 'web', '--image=ferry/agnhost', '--replicas=4', '--', 'netexec');
  const pods = await until('4 ready pods', async () => {
    const items = (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=web' })).items;
    return items.length === 4 && items.every((p) => p.status?.phase === 'Running' && isReady(p)) ? items : undefined;
  });
  const onA = pods.filter((p) => p.spec?.nodeName === 'node-a');
  const onB = pods.filter((p) => p.spec?.nodeName === 'node-b');
  t.true(onA.length > 0 && onB.length > 0, `spread: ${onA.length} on a, ${onB.length} on b`);
  const from = onA[0]!;
  const to = onB[0]!;
  // Without a readiness probe a pod is Ready once its process runs; agnhost may need a moment more to listen.
  const answer = await until('an answer from the pod on node-b', async () => {
    const r = await execIn(podNamespace(prefix, 'node-a', from.metadata!.name!, from.metadata!.uid!), 'curl', ['-s', '--max-time', '5', `http://${to.status!.podIP}:8080/hostname`], { allowFailure: true });
    return r.code === 0 && r.stdout;
  }, 30_000);
  t.is(answer, to.metadata!.name!);
  t.regex((await k('get', 'deployment', 'web')), /web\s+4\/4\s+4\s+4/);
  t.regex(await k('rollout', 'status', 'deployment/web', '--timeout=30s'), /deployment "web" successfully rolled out/);

  // (2) a Service: slices list the four ready pods.
  await k('expose', 'deployment', 'web', '--port', '80', '--target-port', '8080');
  const slices = new Informer<EndpointSlice>({ client, resource: resources.endpointslices, namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
  const seen: Array<{ pod: string; ready: boolean; terminating: boolean }> = [];
  slices.addHandlers({
    onAdd: (s) => s.endpoints?.forEach((e) => seen.push({ pod: e.targetRef?.name ?? '', ready: e.conditions?.ready ?? true, terminating: e.conditions?.terminating ?? false })),
    onUpdate: (_o, s) => s.endpoints?.forEach((e) => seen.push({ pod: e.targetRef?.name ?? '', ready: e.conditions?.ready ?? true, terminating: e.conditions?.terminating ?? false })),
  });
  slices.start();
  t.teardown(() => slices.stop());
  const readyEndpoints = () => slices.store.list().flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => e.targetRef?.name).sort();
  await until('4 ready endpoints', async () => readyEndpoints().length === 4);
  t.deepEqual(readyEndpoints(), pods.map((p) => p.metadata!.name).sort());

  // Deleting a pod: its endpoint turns terminating, then goes; the Deployment replaces the pod.
  const victim = to.metadata!.name!;
  await k('delete', 'pod', victim, '--wait=false');
  await until('victim endpoint gone', async () => !slices.store.list().some((s) => s.endpoints?.some((e) => e.targetRef?.name === victim)));
  t.true(seen.some((e) => e.pod === victim && e.terminating && !e.ready), 'the endpoint was seen terminating');
  await until('a replacement pod ready', async () => readyEndpoints().length === 4 && !readyEndpoints().includes(victim));

  // A pod whose readiness probe fails drops out of the ready endpoints.
  writeFileSync(readyFile, '');
  await client.create(resources.pods, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'flaky', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'agnhost', image: 'ferry/agnhost', args: ['netexec'], readinessProbe: { exec: { command: ['test', '-e', readyFile] }, periodSeconds: 1, failureThreshold: 1 } }] },
  } as Pod);
  await until('flaky ready', async () => readyEndpoints().includes('flaky'));
  rmSync(readyFile);
  await until('flaky not ready', async () => !readyEndpoints().includes('flaky'));
  const flaky = slices.store.list().flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef?.name === 'flaky');
  t.like(flaky?.conditions, { ready: false, serving: false, terminating: false });

  // Any other image runs its command as a host program, with the service variables; `kubectl logs` shows its output.
  await client.create(resources.pods, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker', namespace: 'default' },
    spec: { containers: [{ name: 'sh', image: 'host/sh', command: ['sh', '-c', 'echo "hello from $(hostname) web=$WEB_SERVICE_HOST:$WEB_SERVICE_PORT"; exec sleep 600'] }] },
  } as Pod);
  const webIP = (await client.get<{ spec?: { clusterIP?: string } } & { metadata?: { name?: string } }>(resources.services, 'web', { namespace: 'default' })).spec?.clusterIP;
  const logs = await until('talker logs', async () => {
    const r = await kubectl('/usr/bin/kubectl', server.url, cache, ['logs', 'talker']);
    return r.code === 0 && r.stdout.includes('hello') && r.stdout;
  });
  t.is(logs, `hello from talker web=${webIP}:80\n`);

  // (4) stopping the agents removes every namespace of the lab.
  await Promise.all(agents.map((a) => a.stop()));
  t.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)), []);
});
