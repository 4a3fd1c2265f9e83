import test from 'ava';
import type { ConfigMap, Node, Pod } from 'kubernetes-types/core/v1.js';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { growLab } from '../../../src/lab/cluster/grow.ts';
import { labPaths, readState } from '../../../src/lab/cluster/state.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { until } from './node-fixture.ts';
import { AGENT_DAEMONSET, statefulSetYaml } from '../../helpers/workload-manifests.ts';

/**
 * Issue 18, acceptance 1 and 2, through the real CLI in a `ferry up` lab
 * (every component its own process): a StatefulSet of 3 behind a headless
 * Service starts in order, `web-0.nginx.default.svc.cluster.local` resolves
 * from another pod to web-0's IP, and scaling to 1 removes web-2 then web-1;
 * a DaemonSet has a pod on each node and one on a node that `ferry up
 * --nodes 3` adds to the running 2-node lab. `ferry up` returned only once
 * cluster DNS answers over UDP and TCP, so a lookup right after it works.
 */
const FERRY = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const name = `workloads-${process.pid}`;
const prefix = `fytest-${process.pid}-wl-`;

const manifests = `apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: default}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: web, port: 80}]
---
${statefulSetYaml('nginx', 3, '{name: nginx, image: nginx, ports: [{containerPort: 80, name: web}], readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}}')}---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
---
${AGENT_DAEMONSET}`;

const ferry = (args: string[]) => execFile(FERRY, args, { allowFailure: true, timeoutMs: 180_000 });
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const ordinal = (p: Pod) => Number(p.metadata!.name!.replace('web-', ''));

(isRoot ? test : test.skip)('ferry up lab: StatefulSet order and DNS names from another pod, ordered scale-down, a DaemonSet on a node added later', async (t) => {
  t.teardown(() => ferry(['down', '--name', name]));
  const up = await ferry(['up', '--name', name, '--nodes', '2', '--lab-prefix', prefix]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stdout, /Ready \(cluster DNS answers over UDP and TCP\)/);
  // Right after `ferry up`: a node's lookups through the kube-dns ClusterIP answer at once, over both transports.
  for (const tcp of [[], ['+tcp']]) {
    const dig = await ferry(['exec', '--name', name, 'node/node1', '--', 'dig', '+short', '+time=1', '+tries=1', ...tcp, '@10.96.0.10', 'kubernetes.default.svc.cluster.local']);
    t.is(dig.stdout.trim(), '10.96.0.1', `dig ${tcp.join(' ')} right after ferry up: ${dig.stdout}${dig.stderr}`);
  }
  const env = { ...process.env, KUBECONFIG: labPaths(name).kubeconfig };
  const k = (args: string[], input?: string) => execFile('kubectl', args, { allowFailure: true, timeoutMs: 30_000, env, ...(input ? { input } : {}) });
  const client = new ApiClient({ server: `unix://${labPaths(name).socket}` });
  t.teardown(() => client.close());
  const webPods = async () => (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=web' })).items;

  const apply = await k(['apply', '-f', '-'], manifests);
  t.is(apply.code, 0, apply.stderr);
  // OrderedReady: no poll may see web-N while web-(N-1) is not Ready.
  const outOfOrder: string[] = [];
  await until('web-0..2 Ready', async () => {
    const pods = await webPods();
    const ready = new Set(pods.filter(isReady).map(ordinal));
    for (const p of pods) if (ordinal(p) > 0 && !ready.has(ordinal(p) - 1)) outOfOrder.push(`${p.metadata!.name} before web-${ordinal(p) - 1} was Ready`);
    return ready.size === 3;
  }, 60_000);
  t.deepEqual(outOfOrder, []);

  const web0 = await client.get<Pod>(resources.pods, 'web-0', { namespace: 'default' });
  await until('the client pod running', async () => (await client.get<Pod>(resources.pods, 'client', { namespace: 'default' })).status?.phase === 'Running');
  for (const query of [['web-0.nginx.default.svc.cluster.local'], ['+tcp', 'web-0.nginx.default.svc.cluster.local'], ['+search', 'web-0.nginx']]) {
    const dig = await k(['exec', 'client', '--', 'dig', '+short', ...query]);
    t.is(dig.stdout.trim(), web0.status!.podIP!, `dig ${query.join(' ')} from the client pod: ${dig.stdout}${dig.stderr}`);
  }
  const page = await k(['exec', 'client', '--', 'curl', '-s', '-m', '2', 'http://web-1.nginx/']);
  t.regex(page.stdout, /Welcome to nginx!/, 'web-1 answers by its stable name');

  // Scale to 1: web-2 is gone before web-1 starts terminating.
  const scale = await k(['scale', 'statefulset/web', '--replicas=1']);
  t.is(scale.code, 0, scale.stderr);
  const leaving: string[] = [];
  let web1WhileWeb2 = false;
  await until('only web-0 left', async () => {
    const pods = await webPods();
    const web2 = pods.some((x) => x.metadata!.name === 'web-2');
    for (const n of ['web-2', 'web-1']) {
      const p = pods.find((x) => x.metadata!.name === n);
      if ((!p || p.metadata?.deletionTimestamp) && !leaving.includes(n)) leaving.push(n);
    }
    if (leaving.includes('web-1') && web2) web1WhileWeb2 = true;
    return pods.length === 1 && pods[0]!.metadata!.name === 'web-0';
  }, 60_000);
  t.deepEqual(leaving, ['web-2', 'web-1']);
  t.false(web1WhileWeb2, 'web-1 only terminates once web-2 is gone');

  // DaemonSet: a pod per node, then one on the node `ferry up --nodes 3` adds.
  const daemonNodes = async () => (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=agent' })).items
    .filter((p) => p.status?.phase === 'Running').map((p) => p.spec!.nodeName!).sort();
  await until('a running daemon pod on node1 and node2', async () => (await daemonNodes()).join() === 'node1,node2', 60_000);
  const grow = await ferry(['up', '--name', name, '--nodes', '3']);
  t.is(grow.code, 0, grow.stdout + grow.stderr);
  t.regex(grow.stdout, /added node\(s\) node3/);
  t.is(readState(labPaths(name))!.plan.nodes.length, 3);
  await until('a running daemon pod on node3 too', async () => (await daemonNodes()).join() === 'node1,node2,node3', 60_000);
  const again = await ferry(['up', '--name', name, '--nodes', '3']);
  t.not(again.code, 0, 'a lab that has 3 nodes does not grow again');
  t.regex(again.stderr, /is running \(ferry down --name .*it has 3 node\(s\)/);
  t.is((await listNamespaces()).filter((n) => n.startsWith(`${prefix}node`) && !n.includes('_')).length, 3);
  // A node whose proxy cannot start is taken out again and the lab stays as it was: the proxies are the
  // ferry-proxy DaemonSet's pods, and a field ferry does not know in the kube-proxy ConfigMap stops the new one.
  const cm = await client.get<ConfigMap>(resources.configmaps, 'kube-proxy', { namespace: 'kube-system' });
  const good = cm.data!['config.conf']!;
  await client.update(resources.configmaps, { ...cm, data: { ...cm.data, 'config.conf': `${good}\nnoSuchField: true\n` } });
  const failed = await t.throwsAsync(growLab(readState(labPaths(name))!, 4, 'iptables'));
  t.regex(failed.message, /adding node\(s\) node4 .* failed and was undone: proxy-node4 exited/);
  const restored = await client.get<ConfigMap>(resources.configmaps, 'kube-proxy', { namespace: 'kube-system' });
  await client.update(resources.configmaps, { ...restored, data: { ...restored.data, 'config.conf': good } });
  const after = readState(labPaths(name))!;
  t.deepEqual(after.plan.nodes.map((n) => n.name), ['node1', 'node2', 'node3']);
  t.false(after.components.some((c) => c.name.endsWith('node4')), 'no node4 component recorded');
  t.deepEqual((await listNamespaces()).filter((n) => n.startsWith(`${prefix}node4`)), []);
  t.false((await client.list<Node>(resources.nodes)).items.some((n) => n.metadata?.name === 'node4'), 'no node4 Node object');
  // The new node's pod reaches a pod on another node by its DNS name.
  const daemon3 = (await client.list<Pod>(resources.pods, { namespace: 'default', labelSelector: 'app=agent' })).items.find((p) => p.spec?.nodeName === 'node3')!;
  const across = await k(['exec', daemon3.metadata!.name!, '--', 'curl', '-s', '-m', '2', 'http://web-0.nginx/']);
  t.regex(across.stdout, /Welcome to nginx!/);

  const status = await ferry(['status', '--name', name]);
  // The DaemonSets are the test's and ferry-proxy (the lab's proxies); the Deployment is ferry-dns.
  t.regex(status.stdout, /Workloads: 1 Deployment, 1 StatefulSet, 2 DaemonSets, 0 Jobs, 0 CronJobs/);
  t.notRegex(status.stdout, /\snode4\s/, 'no pod left on the node taken out');
  t.regex(status.stdout, /StatefulSet\s+default\s+web\s+1\/1/);
  t.regex(status.stdout, /DaemonSet\s+default\s+agent\s+3\/3/);
});
