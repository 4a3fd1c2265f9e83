import test from 'ava';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../../helpers/netns-fixture.ts';
import type { ProxyTopology } from '../../helpers/proxy-topology.ts';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { startNode, startProxy } from './ferry-node.ts';

// End to end through the real parts: `ferry apiserver` and
// `ferry proxy --mode iptables|nftables` run in the node namespace; kubectl creates a
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

/** until polls the cluster IP from the node until it answers `want` (10 s). */
async function until(topo: ProxyTopology, want: string, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
    if (r.stdout === want) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const MODES: ReadonlyArray<{ name: string; flags: string[]; leftovers: () => [string, string[], RegExp] }> = [
  { name: 'iptables', flags: ['--mode', 'iptables', '--iptables-backend', 'nft'], leftovers: () => ['iptables-nft-save', [], /KUBE-/] },
  { name: 'nftables', flags: ['--mode', 'nftables'], leftovers: () => [NFT_BINARY, ['list', 'ruleset'], /table ip ferry/] },
];

for (const mode of MODES) rootTest(`ferry proxy --mode ${mode.name} programs services from the apiserver`, async (t) => {
  const { topo, kubectl } = await startNode(t, 2);
  const started = startProxy(topo, mode.flags);
  // --validate=false: the compact apiserver serves no OpenAPI schema for kubectl to validate against.
  const applied = await kubectl(['apply', '--validate=false', '-f', '-'], manifest([topo.pods[0]!.ip]));
  t.is(applied.code, 0, applied.stderr);
  t.true(await until(topo, 'pod-0'), `proxy log:\n${started.log}`);
  t.is((await kubectl(['apply', '--validate=false', '-f', '-'], manifest([topo.pods[1]!.ip]))).code, 0);
  t.true(await until(topo, 'pod-1'), 'traffic follows the EndpointSlice change');
  t.is((await kubectl(['delete', 'service', 'web'])).code, 0);
  const end = Date.now() + 10_000;
  let refused = false;
  while (!refused && Date.now() < end) {
    const r = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
    refused = r.code !== 0;
    if (!refused) await new Promise((r) => setTimeout(r, 100));
  }
  t.true(refused, 'a deleted service stops answering');
  started.proxy.kill('SIGTERM');
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', ...mode.flags, '--cleanup']);
  const [bin, args, leftover] = mode.leftovers();
  t.notRegex((await topo.fixture.exec(topo.node, bin, args)).stdout, leftover);
});

rootTest('ferry proxy --mode nftables rebuilds its table within one sync period after nft delete table and nft flush ruleset', async (t) => {
  const { topo, kubectl } = await startNode(t, 2);
  const metricsPort = 10249;
  const proxy = startProxy(topo, ['--mode', 'nftables'], ['--sync-period', '2s', '--metrics-bind-address', `127.0.0.1:${metricsPort}`]);
  t.is((await kubectl(['apply', '--validate=false', '-f', '-'], manifest([topo.pods[0]!.ip]))).code, 0);
  t.true(await until(topo, 'pod-0'), `proxy log:\n${proxy.log}`);
  for (const outside of [['delete', 'table', 'ip', 'ferry'], ['flush', 'ruleset'], ['flush', 'table', 'ip', 'ferry']]) {
    await topo.fixture.exec(topo.node, NFT_BINARY, outside);
    const broken = await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', 'http://172.30.0.50/hostname'], { allowFailure: true });
    t.not(broken.stdout, 'pod-0', `nft ${outside.join(' ')} takes the service down`);
    const started = Date.now();
    // One sync period is 2 s; allow the curl timeouts on top.
    t.true(await until(topo, 'pod-0', 4_000), `repaired after nft ${outside.join(' ')}:\n${proxy.log}`);
    t.log(`nft ${outside.join(' ')}: answering again after ${Date.now() - started} ms`);
  }
  const metrics = await topo.fixture.exec(topo.node, 'curl', ['-s', `http://127.0.0.1:${metricsPort}/metrics`]);
  // `flush ruleset` also takes the IPv6 proxier's `ip6 ferry` table, which the same sync repairs.
  const dualStack = /Dual-stack: one nftables proxier per IP family/.test(proxy.log);
  if (dualStack) t.is((await topo.fixture.exec(topo.node, NFT_BINARY, ['list', 'table', 'ip6', 'ferry'], { allowFailure: true })).code, 0, 'ip6 ferry is back too');
  t.regex(metrics.stdout, new RegExp(`^ferry_proxy_nftables_table_repairs_total ${dualStack ? 4 : 3}$`, 'm'));
  proxy.proxy.kill('SIGTERM');
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--mode', 'nftables', '--cleanup']);
});
