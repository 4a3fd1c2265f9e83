import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { EXT_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { SERVICE_CIDR } from './harness.ts';

// End to end through the real parts: `ferry apiserver` and
// `ferry proxy --mode iptables` run in the node namespace; kubectl creates a
// Service and its EndpointSlice; requests to the ClusterIP reach the pods,
// and follow an EndpointSlice change.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;

const manifest = (addresses: string[]) => JSON.stringify({
  apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: '172.30.0.50', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: 'node' })) },
  ],
});

rootTest('ferry proxy --mode iptables programs services from the apiserver', async (t) => {
  const topo = await ProxyTopology.create(t, 2);
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  for (let i = 0; i < 2; i++) await ip(['-n', topo.node, 'link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
  const dataDir = await mkdtemp(join(tmpdir(), 'fytest-ipt-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  topo.fixture.spawn(topo.node, ferryBin, ['apiserver', '--listen', '127.0.0.1:6443', '--storage', 'memory', '--data-dir', dataDir, '--service-cluster-ip-range', SERVICE_CIDR]);
  const kubectl = (args: string[], input?: string) =>
    topo.fixture.exec(topo.node, 'kubectl', ['--server', 'http://127.0.0.1:6443', ...args], { input, allowFailure: true });
  const deadline = Date.now() + 20_000;
  while ((await kubectl(['get', 'namespaces'])).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const proxy = topo.fixture.spawn(topo.node, ferryBin, [
    'proxy', '--mode', 'iptables', '--iptables-backend', 'nft', '--server', 'http://127.0.0.1:6443', '--hostname-override', 'node',
    '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '0s', '--healthz-bind-address', '', '--metrics-bind-address', '',
  ]);
  let proxyLog = '';
  proxy.stderr!.on('data', (b: Buffer) => (proxyLog += b.toString()));
  // --validate=false: the compact apiserver serves no OpenAPI schema for kubectl to validate against.
  const applied = await kubectl(['apply', '--validate=false', '-f', '-'], manifest([topo.pods[0]!.ip]));
  t.is(applied.code, 0, applied.stderr);
  const until = async (want: string) => {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const r = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
      if (r.stdout === want) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  t.true(await until('pod-0'), `proxy log:\n${proxyLog}`);
  t.is((await kubectl(['apply', '--validate=false', '-f', '-'], manifest([topo.pods[1]!.ip]))).code, 0);
  t.true(await until('pod-1'), 'traffic follows the EndpointSlice change');
  t.is((await kubectl(['delete', 'service', 'web'])).code, 0);
  const end = Date.now() + 10_000;
  let refused = false;
  while (!refused && Date.now() < end) {
    const r = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
    refused = r.code !== 0;
    if (!refused) await new Promise((r) => setTimeout(r, 100));
  }
  t.true(refused, 'a deleted service stops answering');
  proxy.kill('SIGTERM');
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--mode', 'iptables', '--iptables-backend', 'nft', '--cleanup']);
  t.notRegex((await topo.fixture.exec(topo.node, 'iptables-nft-save', [])).stdout, /KUBE-/);
});
