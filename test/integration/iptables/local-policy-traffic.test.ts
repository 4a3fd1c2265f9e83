import test, { type ExecutionContext } from 'ava';
import { addRoute } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { EXT_IP, NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { endpoint, ProxyDriver, proxyConfig, SERVICE_CIDR, service } from './harness.ts';

// externalTrafficPolicy Local with the only endpoint on another node, proved
// with real packets as kube-proxy behaves: pods and the node itself reach the
// NodePort and the external IP (KUBE-EXT short-circuits them to KUBE-SVC);
// an outside client is dropped (a timeout, not a refusal) by the "has no
// local endpoints" rule. Topology: ext 192.168.50.2 → node 192.168.50.1 →
// cbr0 → pods 10.244.1.10+i; pod-1 stands in for a pod on node-b.
const rootTest = isRoot ? test.serial : test.skip;
const EXTERNAL_IP = '192.168.99.22';

/** curlCode runs curl in ns and returns its exit code (0 ok, 7 refused, 28 timed out). */
async function curlCode(topo: ProxyTopology, ns: string, url: string): Promise<number> {
  const r = await topo.fixture.exec(ns, 'curl', ['-s', '-o', '/dev/null', '-m', '2', url], { allowFailure: true });
  return r.code ?? -1;
}

/** dropCount reads the packet counter of the KUBE-EXTERNAL-SERVICES rule whose text contains `match`. */
async function dropCount(t: ExecutionContext, topo: ProxyTopology, match: string): Promise<number> {
  const r = await topo.fixture.exec(topo.node, 'iptables-nft', ['-w', '5', '-t', 'filter', '-L', 'KUBE-EXTERNAL-SERVICES', '-v', '-n', '-x']);
  const line = r.stdout.split('\n').find((l) => l.includes('DROP') && l.includes(match));
  t.truthy(line, `no DROP rule matching ${match} in:\n${r.stdout}`);
  return Number(line?.trim().split(/\s+/)[0] ?? NaN);
}

rootTest('iptables: eTP Local with endpoints only on another node: pods and the node reach NodePort and external IP, outside clients are dropped', async (t) => {
  const topo = await ProxyTopology.create(t, 2);
  const [p0, p1] = topo.pods as [typeof topo.pods[0], typeof topo.pods[0]];
  // The node routes service and external IPs towards its upstream, as a real node would.
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  await addRoute(topo.node, [`${EXTERNAL_IP}/32`, 'via', EXT_IP]);
  const driver = new ProxyDriver(t, topo.node, proxyConfig('iptables-nft'));
  const remote = service('remote', '172.30.0.30', { type: 'NodePort', nodePort: 30090, externalIPs: [EXTERNAL_IP], externalTrafficPolicy: 'Local' });
  await driver.sync([remote], { [remote.key]: [endpoint(p1.ip, { isLocal: false, nodeName: 'node-b' })] });

  // A pod, through the NodePort and the external IP: the remote endpoint answers.
  t.is(await topo.curl(p0.ns, `http://${NODE_IP}:30090/hostname`), 'pod-1');
  t.is(await topo.curl(p0.ns, `http://${EXTERNAL_IP}/hostname`), 'pod-1');
  // The node itself: masqueraded to its own address, so the reply comes back through it.
  t.is(await topo.curl(topo.node, `http://${NODE_IP}:30090/hostname`), 'pod-1');
  t.is(await topo.curl(topo.node, `http://${EXTERNAL_IP}/hostname`), 'pod-1');
  t.regex(await topo.curl(topo.node, `http://${NODE_IP}:30090/clientip`), /^10\.244\.1\.1:\d+$/, "the node's own traffic is masqueraded");

  // An outside client: no DNAT, and the filter DROP swallows the SYN (timeout, not "refused").
  const nodePortDrops = await dropCount(t, topo, 'dpt:30090');
  t.is(await curlCode(topo, topo.ext, `http://${NODE_IP}:30090/hostname`), 28);
  t.true((await dropCount(t, topo, 'dpt:30090')) > nodePortDrops, 'the NodePort DROP rule counted the client');
  const externalDrops = await dropCount(t, topo, EXTERNAL_IP);
  t.is(await curlCode(topo, topo.ext, `http://${EXTERNAL_IP}/hostname`), 28);
  t.true((await dropCount(t, topo, EXTERNAL_IP)) > externalDrops, 'the external IP DROP rule counted the client');

  // With a local endpoint again, the outside client is served by it (source kept).
  await driver.sync([remote], { [remote.key]: [endpoint(p0.ip), endpoint(p1.ip, { isLocal: false, nodeName: 'node-b' })] });
  t.is(await topo.curl(topo.ext, `http://${NODE_IP}:30090/hostname`), 'pod-0');
  t.regex(await topo.curl(topo.ext, `http://${NODE_IP}:30090/clientip`), new RegExp(`^${EXT_IP.replaceAll('.', '\\.')}:\\d+$`));
  await driver.cleanup();
});
