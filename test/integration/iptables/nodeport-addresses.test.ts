import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { endpoint, ProxyDriver, proxyConfig, service } from './harness.ts';

// --nodeport-addresses as kube-proxy reads it, with real packets, in the
// iptables and nftables modes: an IPv6
// CIDR alone leaves NodePorts on every IPv4 address of the node; `primary`
// keeps them on the Node's primary IP only. The node has 192.168.50.1 (eth0,
// its primary IP) and 10.244.1.1 (cbr0, the pods' gateway).
const rootTest = isRoot ? test.serial : test.skip;
const BRIDGE_IP = '10.244.1.1';

async function curlCode(topo: ProxyTopology, ns: string, url: string): Promise<number> {
  return (await topo.fixture.exec(ns, 'curl', ['-s', '-o', '/dev/null', '-m', '2', url], { allowFailure: true })).code ?? -1;
}

for (const mode of ['iptables-nft', 'nftables'] as const) rootTest(`${mode}: --nodeport-addresses ignores the other family and accepts primary`, async (t) => {
  const topo = await ProxyTopology.create(t, 2);
  const [p0, client] = topo.pods as [typeof topo.pods[0], typeof topo.pods[0]];
  const web = service('web', '172.30.0.50', { type: 'NodePort', nodePort: 30096 });
  const eps = { [web.key]: [endpoint(p0.ip)] };

  const v6Only = new ProxyDriver(t, topo.node, proxyConfig(mode, { nodePortAddresses: ['fd00::/64'] }));
  await v6Only.sync([web], eps);
  t.is(await topo.curl(topo.ext, `http://${NODE_IP}:30096/hostname`), 'pod-0', 'IPv6 CIDRs only: every IPv4 address');
  t.is(await topo.curl(client.ns, `http://${BRIDGE_IP}:30096/hostname`), 'pod-0');
  await v6Only.cleanup();

  const primary = new ProxyDriver(t, topo.node, proxyConfig(mode, { nodePortAddresses: ['primary'] }));
  primary.nodeIPs = [NODE_IP];
  await primary.sync([web], eps);
  t.is(await topo.curl(topo.ext, `http://${NODE_IP}:30096/hostname`), 'pod-0', 'primary: the Node IP answers');
  t.is(await curlCode(topo, client.ns, `http://${BRIDGE_IP}:30096/hostname`), 7, 'primary: another local address is no NodePort (refused)');
  t.is(await curlCode(topo, topo.node, 'http://127.0.0.1:30096/hostname'), 7, 'primary: not on localhost either');
  await primary.cleanup();
});
