import test from 'ava';
import { fileURLToPath } from 'node:url';
import { sysctlIn } from '../../../src/lab/netns.ts';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { EXT_IP } from '../../helpers/proxy-topology.ts';
import { startNode, startProxy } from './ferry-node.ts';

// kube-proxy's ctstate INVALID counter with real packets: `ferry proxy
// --mode iptables` in the node namespace creates the nfacct object, KUBE-FORWARD
// drops INVALID packets into it, and /metrics reads it. The INVALID packet
// is a TCP ACK for no connection sent from ext to a pod through the node.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const tcpSegment = fileURLToPath(new URL('./fixtures/tcp-segment.py', import.meta.url));
const nfacctDriver = fileURLToPath(new URL('../netlink/nfacct-driver.ts', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;
const METRICS = '127.0.0.1:10249';
const DROPPED = /^kubeproxy_iptables_ct_state_invalid_dropped_packets_total (\d+)$/m;

for (const backend of ['nft', 'legacy'] as const) rootTest(`iptables-${backend}: an ACK for no connection is dropped in KUBE-FORWARD and counted in /metrics`, async (t) => {
  const { topo } = await startNode(t, 1);
  const pod = topo.pods[0]!;
  // Conntrack picks up connections mid-stream unless told not to (tcp_loose=0,
  // in the node's namespace only); then a lone ACK is INVALID, as an
  // out-of-window segment of a real connection is.
  await sysctlIn(topo.node, 'net.netfilter.nf_conntrack_tcp_loose', '0');
  const sendAck = async () => (await topo.fixture.exec(topo.ext, 'python3', [tcpSegment, EXT_IP, pod.ip, '8080', 'A'])).stdout.trim();
  t.is(await sendAck(), 'R', 'without the proxy the node forwards the INVALID ACK and the pod resets it');

  const proxy = startProxy(topo, ['--mode', 'iptables', '--iptables-backend', backend], ['--metrics-bind-address', METRICS]);
  const metrics = async () => (await topo.fixture.exec(topo.node, 'curl', ['-s', '-m', '1', `http://${METRICS}/metrics`], { allowFailure: true })).stdout;
  const scrape = async () => DROPPED.exec(await metrics())?.[1];
  const counting = `-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP`;
  const deadline = Date.now() + 15_000;
  let rules = '';
  while (!rules.includes(counting) && Date.now() < deadline) {
    rules = (await topo.fixture.exec(topo.node, `iptables-${backend}-save`, ['-t', 'filter'])).stdout;
    if (!rules.includes(counting)) await new Promise((r) => setTimeout(r, 200));
  }
  t.true(rules.includes(counting), `KUBE-FORWARD counts its drops:\n${rules}\nproxy log:\n${proxy.log}`);
  t.is(await scrape(), '0', 'the object starts at 0');
  t.regex(await metrics(), /^kubeproxy_iptables_localhost_nodeports_accepted_packets_total 0$/m, 'its localhost NodePort counter is exported too');

  for (let i = 0; i < 3; i++) t.is(await sendAck(), 'none', 'the INVALID ACK is dropped before it reaches the pod');
  t.is(await scrape(), '3', `three INVALID packets counted\n${proxy.log}`);
  t.is(await topo.curl(topo.ext, `http://${pod.ip}:8080/hostname`), 'pod-0', 'a real connection through the node goes on');
  t.is(await scrape(), '3', 'and counts nothing');

  proxy.proxy.kill('SIGTERM');
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', '--mode', 'iptables', '--iptables-backend', backend, '--cleanup']);
  const rootObject = await execFile(process.execPath, ['--import', 'tsx', nfacctDriver, 'get', 'ct_state_invalid_dropped_pkts']);
  t.is(rootObject.stdout.trim(), 'null', "the machine's own namespace has no such object");
});

// --conntrack-tcp-be-liberal: the proxy sets nf_conntrack_tcp_be_liberal=1 in
// its namespace and, as kube-proxy, then drops no INVALID packets (only
// out-of-window RSTs would be INVALID), so the same ACK reaches the pod.
rootTest('--conntrack-tcp-be-liberal: the sysctl is set in the node namespace and INVALID packets are not dropped', async (t) => {
  const { topo } = await startNode(t, 1);
  const pod = topo.pods[0]!;
  await sysctlIn(topo.node, 'net.netfilter.nf_conntrack_tcp_loose', '0');
  const proxy = startProxy(topo, ['--mode', 'iptables', '--iptables-backend', 'nft', '--conntrack-tcp-be-liberal']);
  const forwarding = '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules"';
  const deadline = Date.now() + 15_000;
  let rules = '';
  while (!rules.includes(forwarding) && Date.now() < deadline) {
    rules = (await topo.fixture.exec(topo.node, 'iptables-nft-save', ['-t', 'filter'])).stdout;
    if (!rules.includes(forwarding)) await new Promise((r) => setTimeout(r, 200));
  }
  t.true(rules.includes(forwarding), `the proxy synced:\n${rules}\nproxy log:\n${proxy.log}`);
  t.false(rules.includes('--ctstate INVALID'), 'no INVALID drop rule');
  const liberal = await topo.fixture.exec(topo.node, 'cat', ['/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal']);
  t.is(liberal.stdout.trim(), '1');
  t.is((await topo.fixture.exec(topo.ext, 'python3', [tcpSegment, EXT_IP, pod.ip, '8080', 'A'])).stdout.trim(), 'R', 'the ACK reaches the pod, which resets it');
  t.regex(proxy.log, /nf_conntrack_tcp_be_liberal set, not installing DROP rules for INVALID packets/);
});
