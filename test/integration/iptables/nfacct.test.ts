import test from 'ava';
import { NfacctNetlink } from '../../../src/netlink/nfacct.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { endpoint, ProxyDriver, proxyConfig, service } from './harness.ts';

// kube-proxy's nfacct counters, with real packets in the shared topology: the
// iptables mode makes them in the node's namespace at start (this kernel has
// nfnetlink_acct and xt_nfacct), its rules count into them, and /metrics
// publishes the packet counts.
const rootTest = isRoot ? test.serial : test.skip;

const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
const LOCALHOST = 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total';
const INVALID = 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total';

rootTest('iptables: localhost NodePort connections count into localhost_nps_accepted_pkts and reach /metrics', async (t) => {
  const topo = await ProxyTopology.create(t, 1);
  const [p0] = topo.pods as [typeof topo.pods[0]];
  const driver = new ProxyDriver(t, topo.node, proxyConfig('iptables-nft'));
  const web = service('web', '172.30.0.40', { type: 'NodePort', nodePort: 30096 });
  await driver.sync([web], { [web.key]: [endpoint(p0.ip)] });

  const before = await driver.metrics();
  t.is(value(before, LOCALHOST), 0, before);
  t.is(value(before, INVALID), 0);
  const rules = (await topo.fixture.exec(topo.node, 'iptables-nft', ['-w', '5', '-t', 'nat', '-S', 'KUBE-NODEPORTS'])).stdout;
  t.regex(rules, /-d 127\.0\.0\.0\/8 .*--dport 30096 -m nfacct --nfacct-name\s+localhost_nps_accepted_pkts/);

  t.is(await topo.curl(topo.node, 'http://127.0.0.1:30096/hostname'), 'pod-0');
  t.is(await topo.curl(topo.node, 'http://127.0.0.1:30096/hostname'), 'pod-0');
  t.is(await topo.curl(topo.node, `http://${NODE_IP}:30096/hostname`), 'pod-0');
  // The nat table sees a connection's first packet only: one per localhost connection, none for the node IP.
  t.is(value(await driver.metrics(), LOCALHOST), 2);

  // The counters live in the node's namespace, not the machine's own.
  const rootNfacct = NfacctNetlink.open();
  t.teardown(() => rootNfacct.close());
  t.is(await rootNfacct.get('localhost_nps_accepted_pkts'), undefined);
  await driver.cleanup();
});
