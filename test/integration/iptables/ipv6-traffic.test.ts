import test, { type ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { ip, sysctlIn } from '../../../src/lab/netns.ts';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { startApiserver, startProxy } from './ferry-node.ts';

// IPv6 through the real parts: `ferry apiserver` with a dual-stack service
// range, `ferry proxy --mode iptables` (an ip6tables proxier beside the
// iptables one) or `--mode nftables` (an `ip6 ferry` table beside `ip
// ferry`), a dual-stack Service whose IPv6 and IPv4 EndpointSlices
// point at one pod. The client outside the cluster (ext) reaches the pod
// through the IPv6 ClusterIP and NodePort, and the IPv4 ones still answer;
// each family's proxier serves the health check node port on its own family.
// Lab addresses (ULA, only inside the lab namespaces):
//   ext fd00:50::2 ── node fd00:50::1, cbr0 fd00:10:244:1::1/64 ── pod-0 fd00:10:244:1::10
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;

const NODE_IP6 = 'fd00:50::1';
const EXT_IP6 = 'fd00:50::2';
const POD_IP6 = 'fd00:10:244:1::10';
const CLUSTER_IP6 = 'fd00:10:96::50';
const CLUSTER_IP4 = '172.30.0.50';
const NODE_PORT = 30080;
const HEALTH_CHECK_NODE_PORT = 30090;

/** addIPv6 gives the topology's links IPv6 addresses (no duplicate address detection: they are usable at once) and routes. */
async function addIPv6(topo: ProxyTopology): Promise<void> {
  const add = (ns: string, dev: string, cidr: string) => ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev, 'nodad']);
  await sysctlIn(topo.node, 'net.ipv6.conf.all.forwarding', '1');
  await add(topo.node, 'cbr0', 'fd00:10:244:1::1/64');
  await add(topo.node, 'eth0', `${NODE_IP6}/64`);
  await add(topo.ext, 'eth0', `${EXT_IP6}/64`);
  await ip(['-n', topo.ext, '-6', 'route', 'add', 'default', 'via', NODE_IP6]);
  const pod = topo.pods[0]!;
  await add(pod.ns, 'eth0', `${POD_IP6}/64`);
  await ip(['-n', pod.ns, '-6', 'route', 'add', 'default', 'via', 'fd00:10:244:1::1']);
}

const manifest = JSON.stringify({
  apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: HEALTH_CHECK_NODE_PORT, clusterIPs: [CLUSTER_IP6, CLUSTER_IP4], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: NODE_PORT }] } },
    ...(['IPv6', 'IPv4'] as const).map((family) => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `web-${family.toLowerCase()}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: family, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [family === 'IPv6' ? POD_IP6 : '10.244.1.10'], conditions: { ready: true }, nodeName: 'node' }],
    })),
  ],
});

/** A mode's own view of its IPv6 rules, and what its cleanup must leave behind. */
interface ModeCheck {
  readonly args: readonly string[];
  rules(t: ExecutionContext, topo: ProxyTopology): Promise<void>;
  cleaned(t: ExecutionContext, topo: ProxyTopology): Promise<void>;
}

const MODES: Record<'iptables' | 'nftables', ModeCheck> = {
  iptables: {
    args: ['--mode', 'iptables', '--iptables-backend', 'nft'],
    async rules(t, topo) {
      const nat6 = (await topo.fixture.exec(topo.node, 'ip6tables-nft-save', ['-t', 'nat'])).stdout;
      t.regex(nat6, new RegExp(`-A KUBE-SERVICES -d ${CLUSTER_IP6}/128 .*-j KUBE-SVC-`));
      t.regex(nat6, /-A KUBE-SERVICES ! -d ::1\/128 .*--dst-type LOCAL -j KUBE-NODEPORTS/, 'NodePorts on every local address but ::1');
      t.regex(nat6, new RegExp(`--to-destination \\[${POD_IP6}\\]:8080`));
      t.notRegex(nat6, /172\.30\.0\.50|10\.244\.1\.10/, 'no IPv4 address in the IPv6 tables');
    },
    async cleaned(t, topo) {
      for (const save of ['ip6tables-nft-save', 'iptables-nft-save']) t.notRegex((await topo.fixture.exec(topo.node, save, [])).stdout, /KUBE-/, save);
    },
  },
  nftables: {
    args: ['--mode', 'nftables'],
    async rules(t, topo) {
      const list = async (family: string) => (await topo.fixture.exec(topo.node, NFT_BINARY, ['list', 'table', family, 'ferry'])).stdout;
      const [v6, v4] = [await list('ip6'), await list('ip')];
      t.regex(v6, new RegExp(`${CLUSTER_IP6} \\. tcp \\. 80 : goto`), 'the IPv6 ClusterIP in the ip6 table\'s service-ips map');
      t.regex(v6, /fib daddr type local ip6 daddr != ::1 /, 'NodePorts on every local address but ::1');
      t.regex(v6, new RegExp(`${POD_IP6} \\. 8080`));
      t.notRegex(v6, /172\.30\.0\.50|10\.244\.1\.10/, 'no IPv4 address in the IPv6 table');
      t.regex(v4, /172\.30\.0\.50 \. tcp \. 80 : goto/);
    },
    async cleaned(t, topo) {
      t.notRegex((await topo.fixture.exec(topo.node, NFT_BINARY, ['list', 'tables'])).stdout, /ferry/);
    },
  },
};

for (const [mode, check] of Object.entries(MODES)) {
  rootTest(`${mode}: a dual-stack Service answers over IPv6 on its ClusterIP and NodePort through ferry proxy's IPv6 proxier`, async (t) => {
    const topo = await ProxyTopology.create(t, 1);
    await addIPv6(topo);
    const kubectl = await startApiserver(t, topo, '172.30.0.0/16,fd00:10:96::/112');
    const applied = await kubectl(['apply', '--validate=false', '-f', '-'], manifest);
    t.is(applied.code, 0, applied.stderr);
    const stored = JSON.parse((await kubectl(['get', 'service', 'web', '-o', 'json'])).stdout) as { spec: { ipFamilies: string[]; ipFamilyPolicy: string } };
    t.deepEqual(stored.spec.ipFamilies, ['IPv6', 'IPv4']);
    t.is(stored.spec.ipFamilyPolicy, 'RequireDualStack');

    const proxy = startProxy(topo, [...check.args], [], '10.244.0.0/16,fd00:10:244::/48');
    const answers = async (url: string, ms = 15_000) => {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
        if ((await topo.curl(topo.ext, url, 1).catch(() => '')) === 'pod-0') return true;
      }
      return false;
    };
    t.true(await answers(`http://[${CLUSTER_IP6}]/hostname`), `IPv6 ClusterIP from outside the cluster; proxy log:\n${proxy.log}`);
    t.true(await answers(`http://[${NODE_IP6}]:${NODE_PORT}/hostname`), 'IPv6 NodePort');
    t.true(await answers(`http://${CLUSTER_IP4}/hostname`), 'the IPv4 proxier beside it: IPv4 ClusterIP');
    t.true(await answers(`http://${NODE_IP}:${NODE_PORT}/hostname`), 'IPv4 NodePort');
    // Both proxiers' health check servers hold the port: 0.0.0.0 and '::' (IPv6 only).
    for (const host of [`[${NODE_IP6}]`, NODE_IP]) {
      const health = await topo.fixture.exec(topo.ext, 'curl', ['-sS', '-m', '2', `http://${host}:${HEALTH_CHECK_NODE_PORT}/`], { allowFailure: true });
      t.regex(health.stdout, /"localEndpoints":1/, `health check node port on ${host}: ${health.stderr}\n${proxy.log}`);
    }
    // The pod saw the node's address, not ext's: traffic from outside the cluster CIDR is masqueraded in IPv6 too.
    const clientIP = await topo.curl(topo.ext, `http://[${CLUSTER_IP6}]/clientip`);
    t.regex(clientIP, /^\[?fd00:10:244:1::1\]?:\d+$/);
    await check.rules(t, topo);

    proxy.proxy.kill('SIGTERM');
    const cleanup = await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--cleanup'], { allowFailure: true });
    t.is(cleanup.code, 0, cleanup.stderr);
    await check.cleaned(t, topo);
  });
}
