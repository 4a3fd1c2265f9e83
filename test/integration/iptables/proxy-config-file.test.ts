import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { EXT_IP, NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { SERVICE_CIDR } from './harness.ts';

// `ferry proxy --config` with kubeadm 1.30's config.conf, in a node
// namespace against `ferry apiserver`: traffic reaches the pods, and the
// rules it leaves in the kernel are, line for line, those of
// `ferry proxy` given the same settings as flags.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const KUBEADM = fileURLToPath(new URL('../../fixtures/kube-proxy/kubeadm-1.30-config.conf', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;

const manifest = (address: string) => JSON.stringify({
  apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', clusterIP: '172.30.0.50', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName: 'node' }] },
  ],
});

/** rules lists the kernel's iptables rules in both backends, counters and comments-with-dates left out. */
async function rules(topo: ProxyTopology): Promise<string> {
  const out: string[] = [];
  for (const save of ['iptables-nft-save', 'iptables-legacy-save']) {
    const r = await topo.fixture.exec(topo.node, save, [], { allowFailure: true });
    out.push(...r.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '[]')));
  }
  return out.join('\n');
}

async function serving(topo: ProxyTopology, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
    if (r.stdout === 'pod-0') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function stop(proxy: ChildProcess): Promise<void> {
  if (proxy.exitCode !== null) return;
  const exited = new Promise((r) => proxy.once('exit', r));
  proxy.kill('SIGTERM');
  await exited;
}

rootTest("ferry proxy --config with kubeadm's config.conf programs the same iptables rules as the equivalent flags", async (t: ExecutionContext) => {
  const topo = await ProxyTopology.create(t, 2);
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  for (let i = 0; i < 2; i++) await ip(['-n', topo.node, 'link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
  const dir = await mkdtemp(join(tmpdir(), 'fytest-kpc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  topo.fixture.spawn(topo.node, ferryBin, ['apiserver', '--plain-http', '--listen', '127.0.0.1:6443', '--storage', 'memory', '--data-dir', join(dir, 'data'), '--service-cluster-ip-range', SERVICE_CIDR]);
  const kubeconfig = join(dir, 'kubeconfig.conf');
  await writeFile(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'default', cluster: { server: 'http://127.0.0.1:6443' } }],
    users: [{ name: 'default', user: {} }], contexts: [{ name: 'default', context: { cluster: 'default', user: 'default' } }], 'current-context': 'default',
  }));
  // kubeadm's file as the ConfigMap holds it, with the kubeconfig path of this test.
  const configFile = join(dir, 'config.conf');
  await writeFile(configFile, (await readFile(KUBEADM, 'utf8')).replace('/var/lib/kube-proxy/kubeconfig.conf', kubeconfig));
  const kubectl = (args: string[], input?: string) => topo.fixture.exec(topo.node, 'kubectl', ['--server', 'http://127.0.0.1:6443', ...args], { input, allowFailure: true });
  const deadline = Date.now() + 20_000;
  while ((await kubectl(['get', 'namespaces'])).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const applied = await kubectl(['apply', '--validate=false', '-f', '-'], manifest(topo.pods[0]!.ip));
  t.is(applied.code, 0, applied.stderr);

  const runs: Array<{ name: string; args: string[] }> = [
    { name: 'config file', args: ['--config', configFile, '--hostname-override', 'node'] },
    { name: 'flags', args: ['--kubeconfig', kubeconfig, '--cluster-cidr', '10.244.0.0/16', '--hostname-override', 'node'] },
  ];
  const saved: string[] = [];
  // --cleanup touches both backends, which leaves empty legacy tables behind: do it before each run, so both start alike.
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--cleanup']);
  for (const run of runs) {
    const proxy = topo.fixture.spawn(topo.node, ferryBin, ['proxy', ...run.args]);
    let log = '';
    proxy.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    t.true(await serving(topo), `${run.name}: the cluster IP answers\n${log}`);
    const nodePort = await topo.fixture.exec(topo.ext, 'curl', ['-s', '-m', '2', `http://${NODE_IP}:30080/hostname`], { allowFailure: true });
    t.is(nodePort.stdout, 'pod-0', `${run.name}: the NodePort answers from outside`);
    const localhost = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '2', 'http://127.0.0.1:30080/hostname'], { allowFailure: true });
    t.is(localhost.stdout, 'pod-0', `${run.name}: and on localhost (localhostNodePorts, kube's default)`);
    saved.push(await rules(topo));
    await stop(proxy);
    await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--cleanup']);
    t.notRegex(await rules(topo), /KUBE-SVC/, `${run.name}: cleaned up before the next run`);
  }
  t.regex(saved[0]!, /KUBE-SVC-/);
  t.regex(saved[0]!, /! -s 10\.244\.0\.0\/16/, "the file's clusterCIDR");
  t.is(saved[0], saved[1]);
});
