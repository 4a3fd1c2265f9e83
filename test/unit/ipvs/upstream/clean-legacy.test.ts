import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { IPFamily } from '../../../../src/endpoints/node-port-addresses.ts';
import { ProxyStateBuilder } from '../../../../src/endpoints/state-builder.ts';
import { cidrsOfFamily } from '../../../../src/endpoints/node-port-addresses.ts';
import { IpvsProxier } from '../../../../src/ipvs/proxier.ts';
import { IPVS_SVC_F_HASHED } from '../../../../src/netlink/ipvs.ts';
import { proxyConfig } from '../../../helpers/proxy-state-fixtures.ts';
import { fakeNode } from '../fake-host.ts';
import { makeTestService, testHostname } from './kube-proxy.ts';

// kube-proxy's cleanLegacyService tests and TestFilterCIDRs (source in
// kube-proxy.ts): on a sync, every virtual server of the proxier's family
// that it does not want is deleted, unless its address lies in
// --ipvs-exclude-cidrs; excluded ones keep their real servers. Upstream calls
// cleanLegacyService with its "active" set by hand; here its active virtual
// servers are Services the proxier syncs, its current ones are put on Ferry's
// fake node (fake-host.ts) beforehand, and IpvsProxier's full sync does the
// rest. Nothing touches the machine's own IPVS.

type Node = ReturnType<typeof fakeNode>;

/** addVirtualServer puts a UDP virtual server (rr, hashed, as upstream's) on the fake node, with idle real servers. */
function addVirtualServer(node: Node, address: string, port: number, realServers: Array<[string, number]> = []): void {
  const service = { protocol: 'UDP' as const, address, port, scheduler: 'rr', flags: IPVS_SVC_F_HASHED, timeout: 0, netmask: address.includes(':') ? 128 : 0xffffffff };
  node.ipvs.services.set(`UDP ${address}:${port}`, { service, dests: new Map() });
  for (const [ip, p] of realServers) {
    // No connections (upstream's ActiveConn 0, InactiveConn 0): a real server being deleted would go at once.
    node.ipvs.services.get(`UDP ${address}:${port}`)!.dests.set(`${ip}:${p}`, { address: ip, port: p, weight: 1, forward: 0, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistConns: 0 });
  }
}

/** activeService is a ClusterIP Service whose virtual server the sync keeps (upstream's activeServices entry). */
const activeService = (name: string, clusterIP: string, port: number): Service =>
  makeTestService('ns1', name, { type: 'ClusterIP', clusterIP, ports: [{ name: 'p', port, protocol: 'UDP' }] });

async function syncProxier(t: { teardown(fn: () => unknown): void }, node: Node, o: { family?: IPFamily; excludeCIDRs?: string[]; services?: Service[]; gracefulCheckIntervalMs?: number }): Promise<IpvsProxier> {
  const family = o.family ?? 4;
  const config = proxyConfig({ mode: 'ipvs', nodeName: testHostname, ipvsExcludeCIDRs: o.excludeCIDRs ?? [] });
  const proxier = new IpvsProxier(config, { host: node.host, runner: node.runner, healthHost: '127.0.0.1', family, gracefulCheckIntervalMs: o.gracefulCheckIntervalMs ?? 60_000 });
  t.teardown(() => proxier.close());
  const builder = new ProxyStateBuilder(testHostname, family);
  for (const s of o.services ?? []) builder.onServiceChange(undefined, s);
  const result = await proxier.sync(builder.build());
  if (!result.ok) throw result.error;
  return proxier;
}

const ports = (node: Node) => [...node.ipvs.services.values()].map((v) => v.service.port).sort();

test('TestCleanLegacyService: stale and foreign virtual servers go, those in excluded CIDRs stay', async (t) => {
  const node = fakeNode();
  addVirtualServer(node, '1.1.1.1', 53); // ipvs0, created by kube-proxy
  addVirtualServer(node, '2.2.2.2', 54); // ipvs1, created by kube-proxy
  addVirtualServer(node, '3.3.3.3', 55); // ipvs2, an external party's
  addVirtualServer(node, '4.4.4.4', 56); // ipvs3, an external party's
  addVirtualServer(node, '5.5.5.5', 57); // ipvs4, an external party's, outside the excluded CIDRs
  addVirtualServer(node, '6.6.6.6', 58); // ipvs5, created by kube-proxy but now stale
  await syncProxier(t, node, { excludeCIDRs: ['3.3.3.0/24', '4.4.4.0/24'], services: [activeService('svc0', '1.1.1.1', 53), activeService('svc1', '2.2.2.2', 54)] });
  // ipvs4 and ipvs5 should have been cleaned.
  t.is(node.ipvs.services.size, 4, 'remaining IPVS services after cleanup');
  t.deepEqual(ports(node), [53, 54, 55, 56]);
});

test('TestCleanLegacyServiceWithRealServers: a virtual server goes with its real servers when its Service is gone', async (t) => {
  const node = fakeNode();
  addVirtualServer(node, '1.1.1.1', 53, [['10.180.0.1', 53]]); // ipvs0: deleted with real servers
  addVirtualServer(node, '2.2.2.2', 54); // ipvs1: deleted, no real server
  addVirtualServer(node, '3.3.3.3', 54); // ipvs2: not deleted
  await syncProxier(t, node, { services: [activeService('svc2', '3.3.3.3', 54)] });
  t.deepEqual([...node.ipvs.services.keys()], ['UDP 3.3.3.3:54'], 'only ipvs2 remains');
  t.like(node.ipvs.services.get('UDP 3.3.3.3:54')!.service, { address: '3.3.3.3', port: 54, protocol: 'UDP', scheduler: 'rr' });
});

test('TestCleanLegacyRealServersExcludeCIDRs: an excluded virtual server keeps its real servers, also past the graceful termination check', async (t) => {
  const node = fakeNode();
  addVirtualServer(node, '4.4.4.4', 56, [['10.10.10.10', 56], ['11.11.11.11', 56]]);
  node.rt.dummy = 9;
  node.rt.addresses.push({ index: 9, address: '4.4.4.4', prefixLength: 32 });
  await syncProxier(t, node, { excludeCIDRs: ['4.4.4.4/32'], gracefulCheckIntervalMs: 5 });
  // Upstream runs its graceful termination manager's tryDeleteRs here; Ferry's checker runs on its own every 5 ms.
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(node.ipvs.dests('UDP 4.4.4.4:56').sort(), ['10.10.10.10:56 w1', '11.11.11.11:56 w1'], 'remaining IPVS real servers after cleanup');
  // As kube-proxy's sync (its superfluous kube-ipvs0 addresses), an address nothing wants is unbound all the same.
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9), []);
});

test('TestCleanLegacyService6: the IPv6 proxier cleans IPv6 virtual servers outside its excluded CIDRs and leaves IPv4 ones alone', async (t) => {
  const node = fakeNode();
  addVirtualServer(node, '1000::1', 53); // ipvs0, created by kube-proxy
  addVirtualServer(node, '1000::2', 54); // ipvs1, created by kube-proxy
  addVirtualServer(node, '3000::1', 55); // ipvs2, an external party's
  addVirtualServer(node, '4000::1', 56); // ipvs3, an external party's
  addVirtualServer(node, '5000::1', 57); // ipvs4, an external party's, outside the excluded CIDRs
  addVirtualServer(node, '1000::6', 58); // ipvs5, created by kube-proxy but now stale
  addVirtualServer(node, '5.5.5.5', 59); // not upstream's: the IPv4 proxier's business
  await syncProxier(t, node, {
    family: 6,
    // The IPv4 CIDR is the IPv4 proxier's (TestFilterCIDRs); it does not spare 5.5.5.5 here, the family does.
    excludeCIDRs: ['3000::/64', '4000::/64', '10.0.0.0/8'],
    services: [activeService('svc0', '1000::1', 53), activeService('svc1', '1000::2', 54)],
  });
  t.deepEqual(ports(node), [53, 54, 55, 56, 59], 'ipvs4 and ipvs5 removed; four IPv6 virtual servers and the IPv4 one remain');
});

test('the IPv4 proxier spares only its own family\'s excluded CIDRs, and an excluded virtual server of a deleted Service stays (partial sync)', async (t) => {
  const node = fakeNode();
  addVirtualServer(node, '3000::1', 55);
  addVirtualServer(node, '10.96.200.9', 60, [['10.180.0.9', 60]]);
  addVirtualServer(node, '10.96.201.9', 61);
  const service = activeService('web', '10.96.200.10', 80);
  const config = proxyConfig({ mode: 'ipvs', nodeName: testHostname, ipvsExcludeCIDRs: ['10.96.200.0/24', 'fd00::/8'] });
  const proxier = new IpvsProxier(config, { host: node.host, runner: node.runner, healthHost: '127.0.0.1' });
  t.teardown(() => proxier.close());
  const builder = new ProxyStateBuilder(testHostname);
  builder.onServiceChange(undefined, service);
  t.like(await proxier.sync(builder.build()), { ok: true, full: true });
  t.deepEqual([...node.ipvs.services.keys()].sort(), ['UDP 10.96.200.10:80', 'UDP 10.96.200.9:60', 'UDP 3000::1:55'], '10.96.201.9 is not excluded; the IPv6 one is not this proxier\'s');
  t.deepEqual(node.ipvs.dests('UDP 10.96.200.9:60'), ['10.180.0.9:60 w1']);

  // The Service goes: upstream never deletes a virtual server in an excluded CIDR, its own included.
  builder.syncSucceeded();
  builder.onServiceChange(service, undefined);
  t.like(await proxier.sync(builder.build()), { ok: true, full: false });
  t.true(node.ipvs.services.has('UDP 10.96.200.10:80'));
  t.deepEqual(node.rt.addresses.filter((a) => a.index === 9), [], 'its address is unbound all the same');
});

test('TestFilterCIDRs: each family\'s proxier takes its own family\'s CIDRs, in order', (t) => {
  t.deepEqual(cidrsOfFamily(6, []), [], 'an empty list gives an empty one');
  const cidrList = ['1000::/64', '10.0.0.0/16', '11.0.0.0/16', '2000::/64'];
  t.deepEqual(cidrsOfFamily(6, cidrList), ['1000::/64', '2000::/64']);
  t.deepEqual(cidrsOfFamily(4, cidrList), ['10.0.0.0/16', '11.0.0.0/16']);
  t.deepEqual(cidrsOfFamily(4, ['1000::/64', '2000::/64']), []);
});
