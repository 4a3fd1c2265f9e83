import test from 'ava';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Endpoint, ProxyState } from '../../../src/endpoints/proxy-state.ts';
import { JUMPS } from '../../../src/ipvs/iptables.ts';
import { IpvsProxier } from '../../../src/ipvs/proxier.ts';
import { NetlinkError } from '../../../src/netlink/errors.ts';
import { fakeNode } from './fake-host.ts';
import { proxyConfig, proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';
import { until } from '../../helpers/until.ts';

// IpvsProxier over a fake node (IPVS is not in this kernel): what it asks of
// IPVS, rtnetlink, ipset, iptables and conntrack, and the health check node
// ports it serves itself, as kube-proxy's IPVS mode does after each sync.

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

const probe = (port: number) =>
  new Promise<{ status: number; body: { service?: { namespace: string; name: string }; localEndpoints: number; serviceProxyHealthy?: boolean } } | 'refused'>((resolve) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(body) }));
    }).on('error', () => resolve('refused'));
  });

const ep = (ip: string, isLocal: boolean): Endpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal });

test('IpvsProxier: health check node ports answer by local endpoints; virtual servers, addresses, ipsets and rules reach the node', async (t) => {
  const node = fakeNode();
  const hc = await freePort();
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs' }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1', hostFeatures: { randomFully: true, conntrackTCPLiberal: false } });
  t.teardown(() => proxier.close());
  const web = servicePort('ns', 'web', { type: 'LoadBalancer', clusterIPs: ['10.96.0.10'], nodePort: 30080, loadBalancerIPs: ['198.51.100.7'], externalTrafficPolicy: 'Local', healthCheckNodePort: hc });

  const first = await proxier.sync(proxyState([[web, [ep('10.244.1.10', true), ep('10.244.2.10', false)]]]));
  t.like(first, { ok: true, full: true });
  t.like(await probe(hc), { status: 200, body: { service: { namespace: 'ns', name: 'web' }, localEndpoints: 1, serviceProxyHealthy: true } });
  t.deepEqual(node.ipvs.dests('TCP 10.96.0.10:80'), ['10.244.1.10:8080 w1', '10.244.2.10:8080 w1']);
  t.deepEqual(node.ipvs.dests('TCP 192.168.50.1:30080'), ['10.244.1.10:8080 w1'], 'the NodePort of a Local service: the local endpoint');
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9).map((a) => a.address).sort(), ['10.96.0.10', '198.51.100.7']);
  t.regex(node.ipset[0]!, new RegExp(`create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535 -exist\\ncreate (KUBE-TMP-\\d+) .*\\nflush \\1\\nadd \\1 ${hc}\\n`));
  const rules = node.restores[0]!;
  t.true(rules.includes('-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT'));
  t.true(rules.includes('-j MASQUERADE --random-fully'));
  t.true(rules.includes('-I INPUT 1 -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT'));

  // The local endpoint goes: 503, and its real server terminates (weight 0).
  const second = await proxier.sync(proxyState([[web, [ep('10.244.2.10', false)]]], [web.key]));
  t.like(second, { ok: true, full: false });
  t.like(await probe(hc), { status: 503, body: { localEndpoints: 0 } });
  t.deepEqual(node.ipvs.dests('TCP 10.96.0.10:80'), ['10.244.1.10:8080 w0', '10.244.2.10:8080 w1']);
  t.deepEqual(node.ipset.at(-1), 'del KUBE-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10 -exist\n');

  // The service goes: so do its port, virtual servers and addresses.
  await proxier.sync({ ...proxyState([]), changed: new Set([web.key]) });
  t.is(await probe(hc), 'refused');
  t.is(node.ipvs.services.size, 0);
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9), []);
});

test('IpvsProxier: a UDP endpoint that goes has its conntrack entries flushed, as kube-proxy\'s IPVS mode', async (t) => {
  const node = fakeNode();
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs' }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1' });
  t.teardown(() => proxier.close());
  const dns = servicePort('kube-system', 'dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'] });
  await proxier.sync(proxyState([[dns, [ep('10.244.1.20', false), ep('10.244.1.21', false)]]]));
  t.deepEqual(node.conntrack, []);
  const gone: ProxyState = { ...proxyState([[dns, [ep('10.244.1.21', false)]]], [dns.key]), udpConntrack: { deletedEndpoints: [{ serviceKey: dns.key, endpoint: '10.244.1.20:8080' }], newlyActiveServices: new Set() } };
  await proxier.sync(gone);
  t.deepEqual(node.conntrack, [['-D', '--orig-dst', '10.96.0.53', '--dst-nat', '10.244.1.20', '-p', 'udp']]);
});

test('IpvsProxier, IPv6: the IPv6 proxier programs its family\'s virtual servers, addresses, KUBE-6- sets and ip6tables rules, and leaves the IPv4 ones alone', async (t) => {
  const node = fakeNode();
  // The IPv4 proxier's work, already on the node: a virtual server and an address on kube-ipvs0.
  node.rt.dummy = 9;
  node.rt.addresses.push({ index: 9, address: '10.96.0.10', prefixLength: 32 }, { index: 2, address: 'fd00::1', prefixLength: 64 });
  await node.ipvs.apply([node.ipvs.newService({ protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff })]);
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs', clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/64'] }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1', family: 6 });
  t.teardown(() => proxier.close());
  const web = servicePort('ns', 'web', { type: 'NodePort', clusterIPs: ['fd00:96::10'], nodePort: 30080 });
  t.deepEqual(proxier.ipFamilies, [6], 'the proxy loop sends it IPv6 snapshots');

  t.like(await proxier.sync({ ...proxyState([[web, [ep('fd00:244::10', true)]]]), ipFamily: 6 }), { ok: true });
  t.deepEqual([...node.ipvs.services.keys()].sort(), ['TCP 10.96.0.10:80', 'TCP fd00:96::10:80', 'TCP fd00::1:30080']);
  t.deepEqual(node.ipvs.dests('TCP fd00::1:30080'), ['fd00:244::10:8080 w1']);
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9).map((a) => `${a.address}/${a.prefixLength}`).sort(), ['10.96.0.10/32', 'fd00:96::10/128']);
  const sets = node.ipset.join('');
  t.regex(sets, /create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 1048576 -exist\n/);
  t.regex(sets, /add KUBE-6-TMP-\d+ fd00:96::10,tcp:80\n/);
  t.false(/ KUBE-(?!6-)/.test(sets), 'no IPv4 set touched');
  const rules = node.restores.join('');
  t.true(rules.includes('-A KUBE-SERVICES -s ::1/128 -j RETURN'));
  t.true(rules.includes('--match-set KUBE-6-CLUSTER-IP dst,dst ! -s fd00:244::/64 -j KUBE-MARK-MASQ'), 'the IPv6 cluster CIDR');

  // The IPv6 service goes: its virtual servers and address go, the IPv4 ones stay.
  await proxier.sync({ ...proxyState([]), changed: new Set([web.key]), ipFamily: 6 });
  t.deepEqual([...node.ipvs.services.keys()], ['TCP 10.96.0.10:80']);
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9).map((a) => a.address), ['10.96.0.10']);
});

test('IpvsProxier: the termination check deletes a terminating real server once it is idle (or already gone), and counts it', async (t) => {
  const node = fakeNode();
  const registry = new Registry();
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs' }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1', registry, gracefulCheckIntervalMs: 5 });
  t.teardown(() => proxier.close());
  const web = servicePort('ns', 'web', { clusterIPs: ['10.96.0.11'] });
  await proxier.sync(proxyState([[web, [ep('10.244.1.10', false), ep('10.244.1.11', false), ep('10.244.2.10', false)]]]));
  t.like(await proxier.sync(proxyState([[web, [ep('10.244.2.10', false)]]], [web.key])), { ok: true, full: false });
  const vs = node.ipvs.services.get('TCP 10.96.0.11:80')!;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(node.ipvs.dests('TCP 10.96.0.11:80'), ['10.244.1.10:8080 w0', '10.244.1.11:8080 w0', '10.244.2.10:8080 w1'], 'connections left: kept at weight 0');

  // 10.244.1.10 goes idle; 10.244.1.11 vanishes as the check deletes it (ENOENT: the state it wanted).
  const idle = vs.dests.get('10.244.1.10:8080')!;
  vs.dests.set('10.244.1.10:8080', { ...idle, activeConns: 0 });
  const other = vs.dests.get('10.244.1.11:8080')!;
  vs.dests.set('10.244.1.11:8080', { ...other, activeConns: 0 });
  node.ipvs.refuse = (what) => (what === 'delDest 10.244.1.11:8080' ? (vs.dests.delete('10.244.1.11:8080'), new NetlinkError(2, what)) : undefined);
  const gauge = async () => (await registry.getSingleMetric('kubeproxy_ipvs_terminating_real_servers')!.get()).values[0]?.value;
  await until('the idle real servers deleted', async () => node.ipvs.dests('TCP 10.96.0.11:80').length === 1 && (await gauge()) === 0, 2_000, 5);
  t.deepEqual(node.ipvs.dests('TCP 10.96.0.11:80'), ['10.244.2.10:8080 w1']);
  const ops = (await registry.getSingleMetric('kubeproxy_sync_proxy_rules_ipvs_operations_total')!.get()).values;
  t.is(ops.find((v) => v.labels.op === 'delDest')?.value, 2);
});

test('IpvsProxier: a full sync on a node that has the jumps restores the rules without them, and an unchanged partial sync restores nothing', async (t) => {
  const node = fakeNode();
  const dump = (table: string) => [`*${table}`, ...JUMPS.filter((j) => j.table === table).map((j) => `-A ${j.chain} ${j.rule}`), 'COMMIT', ''].join('\n');
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs' }), { host: node.host, runner: { ...node.runner, save: async (table) => dump(table) }, healthHost: '127.0.0.1' });
  t.teardown(() => proxier.close());
  const web = servicePort('ns', 'web', { clusterIPs: ['10.96.0.12'] });
  t.like(await proxier.sync(proxyState([[web, []]])), { ok: true, full: true });
  t.is(node.restores.length, 1);
  t.false(node.restores[0]!.includes('\n-I '), 'no jump inserted again');
  t.regex(node.restores[0]!, /-A KUBE-IPVS-NO-ENDPOINTS -d 10\.96\.0\.12\/32 -p tcp/);
  t.like(await proxier.sync(proxyState([[web, []]], [web.key])), { ok: true, full: false });
  t.is(node.restores.length, 1, 'the rules are the ones restored');
});
