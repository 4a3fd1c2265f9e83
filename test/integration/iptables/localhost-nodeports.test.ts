import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { endpoint, ProxyDriver, proxyConfig, service } from './harness.ts';

// Localhost NodePorts (kube-proxy's --iptables-localhost-nodeports, default
// true), with real packets in the shared topology: the proxier sets
// route_localnet=1 in the node's namespace (only there), so
// `curl 127.0.0.1:<nodePort>` on the node reaches a pod, and KUBE-FIREWALL
// keeps other hosts from reaching what listens on the node's 127.0.0.1,
// which route_localnet alone would let them do. Packets to localhost
// NodePorts are counted in nfacct (kube-proxy's localhost_nps_accepted_pkts).
const rootTest = isRoot ? test.serial : test.skip;
const nfacctDriver = fileURLToPath(new URL('../netlink/nfacct-driver.ts', import.meta.url));
const ROUTE_LOCALNET = '/proc/sys/net/ipv4/conf/all/route_localnet';

rootTest('iptables: curl 127.0.0.1:<nodePort> on the node answers; a packet to 127.0.0.1 from outside the node is dropped', async (t) => {
  const rootBefore = await readFile(ROUTE_LOCALNET, 'utf8');
  const topo = await ProxyTopology.create(t, 1);
  const [p0] = topo.pods as [typeof topo.pods[0]];
  // A service bound to the node's loopback only, and an outside host that
  // sends packets for 127.0.0.1 to the node (its own loopback routes removed).
  const heard: string[] = [];
  const listener = topo.fixture.spawn(topo.node, 'socat', ['-u', 'UDP4-RECV:9999,bind=127.0.0.1', 'STDOUT']);
  listener.stdout!.on('data', (b: Buffer) => heard.push(...b.toString().split('\n').filter(Boolean)));
  await ip(['-n', topo.ext, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local']);
  await ip(['-n', topo.ext, 'route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local']);
  await addRoute(topo.ext, ['127.0.0.1/32', 'via', NODE_IP, 'dev', 'eth0']);
  const sendFromOutside = async (text: string) => {
    await topo.fixture.exec(topo.ext, 'socat', ['-u', 'STDIN', 'UDP4-SENDTO:127.0.0.1:9999'], { input: text });
    await new Promise((r) => setTimeout(r, 300));
  };

  // Control: with route_localnet=1 and no KUBE-FIREWALL, the outside packet reaches the loopback-only listener.
  await topo.fixture.exec(topo.node, 'sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1']);
  await sendFromOutside('before-proxy');
  t.deepEqual(heard, ['before-proxy'], 'the lab can deliver an outside packet to 127.0.0.1 (the hole KUBE-FIREWALL closes)');
  await topo.fixture.exec(topo.node, 'sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=0']);

  const driver = new ProxyDriver(t, topo.node, proxyConfig('iptables-nft'));
  const web = service('web', '172.30.0.40', { type: 'NodePort', nodePort: 30095 });
  await driver.sync([web], { [web.key]: [endpoint(p0.ip)] });

  t.is((await topo.fixture.exec(topo.node, 'sysctl', ['-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim(), '1', 'the proxier set route_localnet in the node namespace');
  t.is(await topo.curl(topo.node, 'http://127.0.0.1:30095/hostname'), 'pod-0');
  t.is(await topo.curl(topo.node, `http://${NODE_IP}:30095/hostname`), 'pod-0');
  const counted = await topo.fixture.exec(topo.node, process.execPath, ['--import', 'tsx', nfacctDriver, 'get', 'localhost_nps_accepted_pkts']);
  t.like(JSON.parse(counted.stdout), { packets: 1 }, 'the connection to 127.0.0.1 was counted (its first packet, which nat sees), the one to the node IP was not');

  await sendFromOutside('after-proxy');
  t.deepEqual(heard, ['before-proxy'], 'KUBE-FIREWALL dropped the outside packet to 127.0.0.1');
  const counters = (await topo.fixture.exec(topo.node, 'iptables-nft', ['-w', '5', '-L', 'KUBE-FIREWALL', '-v', '-n', '-x'])).stdout;
  const drops = Number(counters.split('\n').find((l) => l.includes('DROP'))?.trim().split(/\s+/)[0]);
  t.true(drops >= 1, counters);

  await driver.cleanup();
  t.is(await readFile(ROUTE_LOCALNET, 'utf8'), rootBefore, "the machine's own namespace is untouched");
});
