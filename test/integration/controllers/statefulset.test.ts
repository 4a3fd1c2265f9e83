import test from 'ava';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, kubectlOld, until, workbench } from './workload-fixture.ts';

/**
 * Issue 18: the StatefulSet controller driven by kubectl. An observer polls
 * the pods throughout and checks OrderedReady's invariant: the pods are
 * always web-0…web-(n-1) with no gap, and all but the highest Running and Ready.
 */
const manifest = `apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: default}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1", ports: [{containerPort: 80}]}]
`;

const ordinal = (p: Pod) => Number(p.metadata!.name!.slice('web-'.length));
const ready = (p: Pod) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

for (const bin of [kubectlBin, ...(kubectlOld ? [kubectlOld] : [])]) test(`${bin}: pods come up in order with stable names and DNS fields, roll out from the top down to the partition, and scale down in reverse`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['statefulset', 'endpointslice'], fate: () => 'run', kubectl: bin });
  const violations: string[] = [];
  const updatedOrder: string[] = [];
  // The rolling update deletes and recreates pods in the middle, so the prefix invariant holds outside it only.
  let rolling = false;
  let polls = 0;
  const observer = setInterval(() => {
    void pods('app=web').then((ps) => {
      polls++;
      const sorted = ps.sort((a, b) => ordinal(a) - ordinal(b));
      for (const p of sorted) if (p.spec?.containers[0]?.image === 'nginx:2' && !updatedOrder.includes(p.metadata!.name!)) updatedOrder.push(p.metadata!.name!);
      if (rolling) return;
      const gap = sorted.some((p, i) => ordinal(p) !== i);
      const lowerUnready = sorted.slice(0, -1).some((p) => !ready(p) && !p.metadata?.deletionTimestamp);
      if (gap || lowerUnready) violations.push(sorted.map((p) => `${p.metadata?.name}:${ready(p) ? 'ready' : 'not'}`).join(' '));
    }).catch(() => undefined);
  }, 30);
  t.teardown(() => clearInterval(observer));

  await k(['apply', '-f', '-'], { input: manifest });
  await k(['rollout', 'status', 'statefulset/web', '--timeout=30s']);
  const up = await pods('app=web');
  t.deepEqual(up.map((p) => p.metadata?.name).sort(), ['web-0', 'web-1', 'web-2']);
  for (const p of up) {
    t.is(p.spec?.hostname, p.metadata?.name);
    t.is(p.spec?.subdomain, 'nginx');
    t.is(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], p.metadata?.name);
  }
  const first = await client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' });
  t.like(first.status, { replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 });
  t.is(first.status?.currentRevision, first.status?.updateRevision);
  t.regex(await k(['get', 'sts', 'web']), /web\s+3\/3/);
  await until('the StatefulSet\'s events', async () => /SuccessfulCreate\s+\S+\s+statefulset-controller\s+create Pod web-2 in StatefulSet web successful/.test(await k(['describe', 'sts', 'web'])));
  // The headless Service's slice names each pod by its hostname: what cluster DNS serves as web-0.nginx.default.svc.<zone>.
  const named = await until('slice endpoints with hostnames', async () => {
    const slices = (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=nginx' })).items;
    const eps = slices.flatMap((x) => x.endpoints ?? []);
    return eps.length === 3 ? eps : undefined;
  });
  for (const p of up) t.deepEqual(named.find((e) => e.hostname === p.metadata?.name)?.addresses, [p.status?.podIP], `${p.metadata?.name} by hostname`);

  rolling = true;
  await k(['patch', 'statefulset/web', '-p', '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}']);
  await k(['set', 'image', 'statefulset/web', 'nginx=nginx:2']);
  await k(['rollout', 'status', 'statefulset/web', '--timeout=30s']);
  const rolled = await until('web-2 on nginx:2, web-1 and web-0 kept', async () => {
    const ps = await pods('app=web');
    const img = (n: string) => ps.find((p) => p.metadata?.name === n && !p.metadata?.deletionTimestamp)?.spec?.containers[0]?.image;
    return img('web-2') === 'nginx:2' && img('web-1') === 'nginx:1' && img('web-0') === 'nginx:1' ? ps : undefined;
  });
  t.is(rolled.length, 3);
  t.deepEqual(updatedOrder, ['web-2'], 'highest ordinal first, down to the partition');
  const partial = await until('status after the partitioned rollout', async () => {
    const s = await client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' });
    return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 ? s : undefined;
  });
  t.like(partial.status, { currentReplicas: 2, currentRevision: first.status?.currentRevision });
  t.not(partial.status?.updateRevision, partial.status?.currentRevision);

  // web-0, below the partition, comes back on the current revision when deleted (copied from web-1).
  const oldUid = rolled.find((p) => p.metadata?.name === 'web-0')?.metadata?.uid;
  await k(['delete', 'pod', 'web-0', '--wait=false']);
  const back = await until('web-0 recreated and ready', async () => {
    const p = (await pods('app=web')).find((x) => x.metadata?.name === 'web-0');
    return p && p.metadata?.uid !== oldUid && ready(p) ? p : undefined;
  });
  t.is(back.spec?.containers[0]?.image, 'nginx:1');
  t.is(back.metadata?.labels?.['controller-revision-hash'], first.status?.currentRevision);
  // Lowering the partition to 0 finishes the update from the top down: web-1, then web-0.
  await k(['patch', 'statefulset/web', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}']);
  await k(['rollout', 'status', 'statefulset/web', '--timeout=30s']);
  t.deepEqual(updatedOrder, ['web-2', 'web-1', 'web-0']);
  await until('currentRevision caught up', async () => {
    const st = (await client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' })).status;
    return st?.currentRevision === st?.updateRevision && st?.currentReplicas === 3;
  });
  rolling = false;
  await k(['scale', 'statefulset/web', '--replicas=1']);
  await until('one pod left', async () => (await pods('app=web')).map((p) => p.metadata?.name).join() === 'web-0');
  await until('status replicas 1', async () => (await client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' })).status?.replicas === 1);
  clearInterval(observer);
  t.true(polls > 20, `the observer polled (${polls})`);
  t.deepEqual(violations, [], 'pods always a prefix, lower ones ready');
});

test(`${kubectlBin}: minReadySeconds: OrderedReady waits for each pod to be available; availableReplicas follows readyReplicas with no further pod event`, async (t) => {
  const { client, k } = await workbench(t, { controllers: ['statefulset'], fate: () => 'run' });
  await k(['apply', '-f', '-'], { input: manifest.replace('replicas: 3', 'replicas: 2\n  minReadySeconds: 2') });
  const get = () => client.get<StatefulSet>(resources.statefulsets, 'web', { namespace: 'default' });
  await until('2 ready', async () => (await get()).status?.readyReplicas === 2);
  await until('2 available', async () => (await get()).status?.availableReplicas === 2, 10_000);
  // Ready times have 1 s resolution, so 2 s of minReadySeconds is at least 1 s after the last pod's.
  const { items } = await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=web' });
  const lastReady = Math.max(...items.map((p) => Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '')));
  t.true(Date.now() - lastReady >= 1000, `available only after minReadySeconds (${Date.now() - lastReady} ms after ready)`);
  // OrderedReady waits for web-0 to be available, not just ready, before creating web-1.
  const byName = new Map(items.map((p) => [p.metadata?.name, p]));
  const web0Ready = Date.parse(byName.get('web-0')?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
  const web1Created = Date.parse(byName.get('web-1')?.metadata?.creationTimestamp ?? '');
  t.true(web1Created - web0Ready >= 2000, `web-1 created ${web1Created - web0Ready} ms after web-0 was ready`);
});
