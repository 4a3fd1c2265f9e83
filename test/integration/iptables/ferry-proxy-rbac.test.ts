import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { ProxyTopology, EXT_IP } from '../../helpers/proxy-topology.ts';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { SERVICE_CIDR } from './harness.ts';

// Issue 17 (RBAC): `ferry apiserver --authorization-mode=RBAC` and `ferry proxy`
// authenticating as system:kube-proxy, whose only grant is kube's bootstrap
// system:node-proxier role: the proxy lists and watches what it needs and
// programs the Service; the same token may not create a Service. All in
// the test's node namespace.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;

const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '172.30.0.50', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
const slice = (address: string) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName: 'node' }],
});

rootTest('ferry proxy --mode nftables runs as system:kube-proxy with only system:node-proxier under RBAC', async (t) => {
  const topo = await ProxyTopology.create(t, 1);
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  await ip(['-n', topo.node, 'link', 'set', 'veth0', 'type', 'bridge_slave', 'hairpin', 'on']);
  const dir = await mkdtemp(join(tmpdir(), 'fytest-rbac-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tokens.csv'), 'admin-token,admin,1,"system:masters"\nproxy-token,system:kube-proxy,2\n');
  await writeFile(join(dir, 'proxy.kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "http://127.0.0.1:6443", insecure-skip-tls-verify: true}\nusers:\n- name: p\n  user: {token: proxy-token}\ncontexts:\n- name: c\n  context: {cluster: c, user: p}\ncurrent-context: c\n');
  topo.fixture.spawn(topo.node, ferryBin, ['apiserver', '--plain-http', '--listen', '127.0.0.1:6443', '--storage', 'memory', '--data-dir', join(dir, 'data'), '--service-cluster-ip-range', SERVICE_CIDR, '--authorization-mode', 'RBAC', '--token-auth-file', join(dir, 'tokens.csv')]);
  const post = (token: string, path: string, body: unknown) =>
    topo.fixture.exec(topo.node, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '--data-binary', '@-', `http://127.0.0.1:6443${path}`], { input: JSON.stringify(body), allowFailure: true });
  const deadline = Date.now() + 20_000;
  while ((await topo.fixture.exec(topo.node, 'curl', ['-sf', 'http://127.0.0.1:6443/readyz'], { allowFailure: true })).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

  const proxy = topo.fixture.spawn(topo.node, ferryBin, ['proxy', '--mode', 'nftables', '--kubeconfig', join(dir, 'proxy.kubeconfig'), '--hostname-override', 'node', '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '0s', '--healthz-bind-address', '', '--metrics-bind-address', '']);
  let log = '';
  proxy.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  t.is((await post('proxy-token', '/api/v1/namespaces/default/services', service)).stdout, '403', 'the proxy may not create Services');
  t.is((await post('admin-token', '/api/v1/namespaces/default/services', service)).stdout, '201');
  t.is((await post('admin-token', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice(topo.pods[0]!.ip))).stdout, '201');
  let answered = false;
  for (const end = Date.now() + 15_000; !answered && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    answered = (await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true })).stdout === 'pod-0';
  }
  t.true(answered, `proxy log:\n${log}`);
  t.notRegex(log, /forbidden/i);
  proxy.kill('SIGTERM');
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--mode', 'nftables', '--cleanup']);
  t.notRegex((await topo.fixture.exec(topo.node, NFT_BINARY, ['list', 'ruleset'])).stdout, /table ip ferry/);
});
