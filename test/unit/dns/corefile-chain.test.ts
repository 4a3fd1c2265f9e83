import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { DnsHandler, type Client } from '../../../src/dns/handler.ts';
import type { PacketHandler } from '../../../src/dns/packet-handler.ts';
import { PluginChain, ZoneDispatch } from '../../../src/dns/corefile/chain.ts';
import { HostsTable } from '../../../src/dns/corefile/hosts.ts';
import { K8sExternal } from '../../../src/dns/k8s-external.ts';
import { handlerZones } from '../../../src/dns/corefile/kubernetes.ts';
import { loadCorefile } from '../../../src/dns/corefile/runner.ts';
import { scopedController } from '../../../src/dns/corefile/scoped-controller.ts';
import { renameResponse, shuffleAddresses } from '../../../src/dns/corefile/wire-edit.ts';
import { encodeMessage } from '../../../src/dns/wire/message.ts';
import type { RecordIndex } from '../../../src/dns/records.ts';
import { slimEndpointSlice, toDnsEndpointSlice } from '../../../src/dns/object.ts';
import { buildQuery, decode } from './helpers.ts';
import { fixtureIndex, ZONE } from './fixtures.ts';

// A server block's plugins around the handler, over the fixture cluster
// (test/unit/dns/fixtures.ts): kubernetes options, hosts, rewrite,
// loadbalance, the block's zones, forward { max_concurrent }.

const udp: Client = { proto: 'udp', address: '127.0.0.1', family: 4 };

/** chainFor builds the block's handler as the runner does, over the fixture index; `seen` counts the queries the kubernetes plugin got. */
function chainFor(corefile: string, index: RecordIndex = fixtureIndex(), seen = { queries: 0 }): PacketHandler {
  const [c] = loadCorefile(corefile);
  const k = c!.kubernetes!;
  const handler = new DnsHandler({ controller: scopedController(index, k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  const inner: PacketHandler = { handle: (p, client) => (seen.queries++, handler.handle(p, client)) };
  const source = { controller: index, localIPs: [], externalModified: () => index.externalModified(), servicesByExternalIP: (ip: string) => index.servicesByExternalIP(ip) };
  const k8sExternal = c!.k8sExternal && new K8sExternal(c!.k8sExternal, source);
  return new PluginChain(inner, c!, { hosts: c!.hosts ? new HostsTable(c!.hosts) : undefined, k8sExternal });
}

async function ask(h: PacketHandler, qname: string, qtype: string) {
  const out = await h.handle(buildQuery(qname, qtype), udp);
  if (!out) throw new Error('no response');
  return decode(out);
}

const z = ZONE;

test('kubernetes namespaces: names in other namespaces do not exist', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} {\n    namespaces default\n  }\n  log\n}\n`);
  t.is((await ask(h, `svc1.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN');
  const open = chainFor(`.:53 {\n  kubernetes ${z} {\n    namespaces default testns\n  }\n  log\n}\n`);
  t.deepEqual((await ask(open, `svc1.testns.svc.${z}.`, 'A')).answer, [`svc1.testns.svc.${z}.\t5\tIN\tA\t10.0.0.1`]);
});

test('kubernetes noendpoints: headless and endpoint names are NXDOMAIN, ClusterIPs still answer', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} {\n    noendpoints\n  }\n  log\n}\n`);
  t.is((await ask(h, `hdls1.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN');
  t.is((await ask(h, `pod-a.hdls1.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN');
  t.is((await ask(h, `svc1.testns.svc.${z}.`, 'A')).rcode, 'NOERROR');
});

test('kubernetes endpoint_pod_names: an endpoint without hostname is named after its pod', async (t) => {
  const index = fixtureIndex();
  index.setService({ namespace: 'testns', name: 'sts', kind: 'Headless', clusterIPs: [], externalName: '', ports: [], publishNotReady: false });
  index.setEndpointSlice({ namespace: 'testns', name: 'sts-1', service: 'sts', endpoints: [{ ip: '172.0.0.7', hostname: undefined, ready: true, ports: [], podName: 'sts-pod-x' }] });
  const named = chainFor(`.:53 {\n  kubernetes ${z} {\n    endpoint_pod_names\n  }\n  log\n}\n`, index);
  t.deepEqual((await ask(named, `sts-pod-x.sts.testns.svc.${z}.`, 'A')).answer, [`sts-pod-x.sts.testns.svc.${z}.\t5\tIN\tA\t172.0.0.7`]);
  const plain = chainFor(`.:53 {\n  kubernetes ${z}\n  log\n}\n`, index);
  t.is((await ask(plain, `sts-pod-x.sts.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN');
  t.is((await ask(plain, `172-0-0-7.sts.testns.svc.${z}.`, 'A')).rcode, 'NOERROR');
});

test('hosts without fallthrough answers SERVFAIL for names it does not hold, as CoreDNS does; with it the query goes on', async (t) => {
  const closed = chainFor(`.:53 {\n  hosts {\n    10.1.1.1 a.example.\n  }\n  kubernetes ${z}\n}\n`);
  t.deepEqual((await ask(closed, 'a.example.', 'A')).answer, ['a.example.\t3600\tIN\tA\t10.1.1.1']);
  t.is((await ask(closed, `svc1.testns.svc.${z}.`, 'A')).rcode, 'SERVFAIL');
  const open = chainFor(`.:53 {\n  hosts {\n    10.1.1.1 a.example.\n    ttl 60\n    fallthrough\n  }\n  kubernetes ${z}\n}\n`);
  t.deepEqual((await ask(open, 'a.example.', 'A')).answer, ['a.example.\t60\tIN\tA\t10.1.1.1']);
  t.is((await ask(open, `svc1.testns.svc.${z}.`, 'A')).rcode, 'NOERROR');
});

const EXT_SOA = 'example.com.\t5\tIN\tSOA\tns1.dns.example.com. hostmaster.dns.example.com. 7200 1800 86400 5';
test('k8s_external is a step of the chain: it answers its zones itself, after rewrite, and passes other names on', async (t) => {
  const index = fixtureIndex();
  index.setService({ namespace: 'testns', name: 'web', kind: 'ClusterIP', clusterIPs: ['10.0.0.9'], externalIPs: ['192.0.2.10'], externalName: '', ports: [], publishNotReady: false });
  const seen = { queries: 0 };
  const h = chainFor(`.:53 {\n  rewrite name exact www.corp. web.testns.example.com.\n  kubernetes ${z}\n  k8s_external example.com\n}\n`, index, seen);
  t.like(await ask(h, 'web.testns.example.com.', 'A'), { rcode: 'NOERROR', aa: true, answer: ['web.testns.example.com.\t5\tIN\tA\t192.0.2.10'] });
  t.deepEqual((await ask(h, 'www.corp.', 'A')).answer, ['www.corp.\t5\tIN\tA\t192.0.2.10'], 'a rewritten name, answered under the name asked');
  t.like(await ask(h, 'nope.testns.example.com.', 'A'), { rcode: 'NXDOMAIN', answer: [], ns: [EXT_SOA] });
  t.is(seen.queries, 0, 'the kubernetes plugin got none of its names');
  t.deepEqual((await ask(h, `web.testns.svc.${z}.`, 'A')).answer, [`web.testns.svc.${z}.\t5\tIN\tA\t10.0.0.9`]);
  t.is(seen.queries, 1);
});

test('k8s_external fallthrough passes its NXDOMAINs on to the kubernetes plugin, not its NODATA', async (t) => {
  const index = fixtureIndex();
  index.setService({ namespace: 'testns', name: 'web', kind: 'ClusterIP', clusterIPs: ['10.0.0.9'], externalIPs: ['192.0.2.10'], externalName: '', ports: [], publishNotReady: false });
  const seen = { queries: 0 };
  const h = chainFor(`.:53 {\n  kubernetes ${z}\n  k8s_external example.com {\n    fallthrough\n  }\n}\n`, index, seen);
  t.like(await ask(h, 'web.testns.example.com.', 'AAAA'), { rcode: 'NOERROR', answer: [], ns: [EXT_SOA] });
  t.is(seen.queries, 0);
  t.is((await ask(h, 'nope.testns.example.com.', 'A')).rcode, 'SERVFAIL', 'passed on: no zone of the kubernetes plugin, no upstream');
  t.is(seen.queries, 1);
});

test('the chain hands the kubernetes handler the Query it parsed (handleParsed), after rewrite the rewritten one; answers are those of handle', async (t) => {
  const [c] = loadCorefile(`.:53 {\n  rewrite name exact www.corp. svc1.testns.svc.${z}.\n  kubernetes ${z} in-addr.arpa {\n    fallthrough in-addr.arpa\n  }\n}\n`);
  const k = c!.kubernetes!;
  const options = { controller: scopedController(fixtureIndex(), k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined };
  const [handler, plain] = [new DnsHandler(options), new DnsHandler(options)];
  const parsed: string[] = [];
  const inner: PacketHandler = {
    handle: () => t.fail('the packet was handed on unparsed'),
    handleParsed: (q, p, client) => (parsed.push(q.qname), handler.handleParsed(q, p, client)),
  };
  const chain = new PluginChain(inner, c!);
  for (const [name, qtype] of [[`svc1.testns.svc.${z}`, 'A'], [`nope.testns.svc.${z}`, 'A'], ['9.9.0.10.in-addr.arpa', 'PTR'], ['example.org', 'A']] as const) {
    const query = buildQuery(name, qtype);
    t.deepEqual(await chain.handle(query, udp), await plain.handle(query, udp), `${name} ${qtype}`);
  }
  t.deepEqual((await ask(chain, 'www.corp.', 'A')).answer, ['www.corp.\t5\tIN\tA\t10.0.0.1']);
  t.deepEqual(parsed, [`svc1.testns.svc.${z}`, `nope.testns.svc.${z}`, '9.9.0.10.in-addr.arpa', 'example.org', `svc1.testns.svc.${z}`]);
  // Blocks sharing a port: the dispatcher's parse is the chain's too.
  const dispatch = new ZoneDispatch([{ zones: ['.'], entry: chain }, { zones: ['example.org.'], entry: { handle: () => t.fail('parsed again'), handleParsed: () => Buffer.from('example.org block') } }]);
  t.deepEqual(await dispatch.handle(buildQuery('a.example.org', 'A'), udp), Buffer.from('example.org block'));
  t.deepEqual((await ask(dispatch, `svc1.testns.svc.${z}.`, 'A')).answer, [`svc1.testns.svc.${z}.\t5\tIN\tA\t10.0.0.1`]);
  t.is(parsed.length, 6);
});

test("a block's zones: names outside them are REFUSED", async (t) => {
  const h = chainFor(`${z}:53 {\n  kubernetes ${z}\n}\n`);
  t.is((await ask(h, `svc1.testns.svc.${z}.`, 'A')).rcode, 'NOERROR');
  t.is((await ask(h, 'example.com.', 'A')).rcode, 'REFUSED');
});

test('loadbalance shuffles the address records of an answer; every order shows up', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z}\n  loadbalance\n}\n`);
  const orders = new Set<string>();
  for (let i = 0; i < 60; i++) orders.add((await ask(h, `hdls1.testns.svc.${z}.`, 'A')).answer.join(' | '));
  t.is(orders.size, 2, 'two endpoints: both orders');
});

test('forward max_concurrent: REFUSED once that many queries are out upstream', async (t) => {
  const [c] = loadCorefile('.:53 {\n  kubernetes cluster.local\n  forward . 10.0.0.53 {\n    max_concurrent 2\n  }\n}\n');
  const pending: Array<() => void> = [];
  const slow: PacketHandler = { handle: (p) => new Promise((ok) => pending.push(() => ok(Buffer.from(p)))) };
  const chain = new PluginChain(slow, c!);
  const outside = () => chain.handle(buildQuery('example.com.', 'A'), udp);
  const first = [outside(), outside()];
  const third = decode((await outside())!);
  t.is(third.rcode, 'REFUSED');
  pending.forEach((release) => release());
  await Promise.all(first);
  t.is(pending.length, 2);
  void outside();
  t.is(pending.length, 3, 'a slot is free again once answers came back');
});

test('forward max_concurrent counts only names outside the plugin\'s zones: a second cluster zone is not REFUSED', async (t) => {
  const [c] = loadCorefile('.:53 {\n  kubernetes cluster.local coredns.local\n  forward . 10.0.0.53 {\n    max_concurrent 1\n  }\n}\n');
  const pending: Array<() => void> = [];
  const slow: PacketHandler = { handle: (p) => new Promise((ok) => pending.push(() => ok(Buffer.from(p)))) };
  const chain = new PluginChain(slow, c!);
  const outside = chain.handle(buildQuery('example.com.', 'A'), udp);
  const second = chain.handle(buildQuery('svc1.testns.svc.coredns.local.', 'A'), udp);
  t.is(pending.length, 2, 'the second cluster zone\'s name went to the plugin, not refused');
  pending.forEach((release) => release());
  t.not(decode((await second)!).rcode, 'REFUSED');
  await outside;
});

test('forward max_concurrent never refuses k8s_external names: that plugin answers before forward, as in CoreDNS', async (t) => {
  const [c] = loadCorefile('.:53 {\n  kubernetes cluster.local\n  k8s_external example.com\n  forward . 10.0.0.53 {\n    max_concurrent 1\n  }\n}\n');
  const index = fixtureIndex();
  index.setService({ namespace: 'testns', name: 'web', kind: 'ClusterIP', clusterIPs: ['10.0.0.9'], externalIPs: ['192.0.2.10'], externalName: '', ports: [], publishNotReady: false });
  const source = { controller: index, localIPs: [], externalModified: () => index.externalModified(), servicesByExternalIP: (ip: string) => index.servicesByExternalIP(ip) };
  const pending: Array<() => void> = [];
  const slow: PacketHandler = { handle: (p) => new Promise((ok) => pending.push(() => ok(Buffer.from(p)))) };
  const chain = new PluginChain(slow, c!, { k8sExternal: new K8sExternal(c!.k8sExternal!, source) });
  const outside = chain.handle(buildQuery('example.net.', 'A'), udp);
  t.is(decode((await chain.handle(buildQuery('example.org.', 'A'), udp))!).rcode, 'REFUSED', 'the one upstream slot is taken');
  t.deepEqual(decode((await chain.handle(buildQuery('web.testns.example.com.', 'A'), udp))!).answer, ['web.testns.example.com.\t5\tIN\tA\t192.0.2.10']);
  pending.forEach((release) => release());
  await outside;
});

test('renameResponse maps owner and target names, keeping the records', (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z}\n}\n`);
  const response = h.handle(buildQuery(`_http._tcp.svc1.testns.svc.${z}.`, 'SRV'), udp) as Buffer;
  const renamed = decode(renameResponse(response, 512, (n) => n.replace('testns.svc.cluster.local', 'corp')));
  t.deepEqual(renamed.answer, ['_http._tcp.svc1.corp.\t5\tIN\tSRV\t0 100 80 svc1.corp.']);
  t.deepEqual(renamed.extra, ['svc1.corp.\t5\tIN\tA\t10.0.0.1']);
  t.is(shuffleAddresses(response, 512), response, 'nothing to shuffle: the same buffer');
});

test("endpoint pod names are kept by the informers' transform only when asked", (t) => {
  const s = {
    metadata: { namespace: 'testns', name: 'sts-1', labels: { 'kubernetes.io/service-name': 'sts' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['172.0.0.7'], targetRef: { kind: 'Pod', name: 'sts-pod-x', namespace: 'testns' } }], ports: [],
  };
  t.is(toDnsEndpointSlice(slimEndpointSlice(s, 'x', true))!.endpoints[0]!.podName, 'sts-pod-x');
  t.is(toDnsEndpointSlice(slimEndpointSlice(s, 'x'))!.endpoints[0]!.podName, undefined);
});

test('hosts answers AAAA and the PTR of an IPv6 address however the file spells it; no_reverse turns PTR off', async (t) => {
  const h = chainFor(`.:53 {\n  hosts {\n    fd00:0:0::7 v6.example.\n    fallthrough\n  }\n  kubernetes ${z}\n}\n`);
  t.deepEqual((await ask(h, 'v6.example.', 'AAAA')).answer, ['v6.example.\t3600\tIN\tAAAA\tfd00::7']);
  const ptr = `${'7'}.${'0.'.repeat(27)}0.0.d.f.ip6.arpa.`;
  t.deepEqual((await ask(h, ptr, 'PTR')).answer, [`${ptr}\t3600\tIN\tPTR\tv6.example.`]);
  const off = chainFor(`.:53 {\n  hosts {\n    fd00::7 v6.example.\n    no_reverse\n    fallthrough\n  }\n  kubernetes ${z}\n}\n`);
  t.deepEqual((await ask(off, ptr, 'PTR')).answer, []);
});

test('shuffleAddresses keeps every record whole, by bytes (pointer owners) or by decoding (a name written out)', (t) => {
  const a = (name: string, address: string) => ({ name, ttl: 30, type: 1 as const, address });
  const withQuestion = encodeMessage({ id: 1, flags: 0x8400, question: { qname: 'x.example', qtype: 1, qclass: 1 }, answer: [a('x.example', '10.0.0.1'), a('x.example', '10.0.0.2'), a('x.example', '10.0.0.3')], authority: [], additional: [], edns: undefined }, 512);
  const noQuestion = encodeMessage({ id: 1, flags: 0x8400, question: undefined, answer: [a('y.example', '10.0.1.1'), a('y.example', '10.0.1.2')], authority: [], additional: [], edns: undefined }, 512);
  for (const [response, count] of [[withQuestion, 6], [noQuestion, 2]] as const) {
    const orders = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const shuffled = decode(shuffleAddresses(response, 512));
      t.deepEqual([...shuffled.answer].sort(), [...decode(response).answer].sort());
      orders.add(shuffled.answer.join('|'));
    }
    t.is(orders.size, count);
  }
});

// The kubernetes plugin's reverse zones and fallthrough, as CoreDNS (handler.go, reverse.go):
// a listed reverse zone is authoritative unless fallthrough covers it; names in no listed zone pass on.
// Forwarded queries meet no upstream here, so SERVFAIL shows a query was passed on.
const SOA_0_10 = '0.10.in-addr.arpa.\t5\tIN\tSOA\tns.dns.0.10.in-addr.arpa. hostmaster.0.10.in-addr.arpa. 7200 1800 86400 5';
test('a reverse zone given to kubernetes without fallthrough is authoritative: an unknown address is NXDOMAIN with its SOA', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} 0.10.in-addr.arpa\n}\n`);
  t.deepEqual((await ask(h, '1.0.0.10.in-addr.arpa.', 'PTR')).answer, [`1.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tsvc1.testns.svc.${z}.`]);
  const unknown = await ask(h, '9.9.0.10.in-addr.arpa.', 'PTR');
  t.like(unknown, { rcode: 'NXDOMAIN', answer: [], ns: [SOA_0_10] });
  t.like(await ask(h, '0.10.in-addr.arpa.', 'SOA'), { rcode: 'NOERROR', answer: [SOA_0_10] });
  t.like(await ask(h, 'svc1.testns.svc.0.10.in-addr.arpa.', 'A'), { rcode: 'NXDOMAIN', ns: [SOA_0_10] });
  t.like(await ask(h, 'svc.0.10.in-addr.arpa.', 'A'), { rcode: 'NOERROR', answer: [], ns: [SOA_0_10] });
  t.is((await ask(h, '2.0.0.172.in-addr.arpa.', 'PTR')).rcode, 'SERVFAIL', 'an address outside the listed reverse zones is passed on');
});

test('fallthrough for a reverse zone passes its unknown addresses on and still answers the known ones', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} 0.10.in-addr.arpa {\n    fallthrough 0.10.in-addr.arpa\n  }\n}\n`);
  t.deepEqual((await ask(h, '1.0.0.10.in-addr.arpa.', 'PTR')).answer, [`1.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tsvc1.testns.svc.${z}.`]);
  t.is((await ask(h, '9.9.0.10.in-addr.arpa.', 'PTR')).rcode, 'SERVFAIL');
  t.is((await ask(h, `nope.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN', 'the cluster zone is not covered');
});

test('fallthrough without zones covers the cluster zone too: its NXDOMAINs are passed on, NODATA is not', async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} in-addr.arpa {\n    fallthrough\n  }\n}\n`);
  t.is((await ask(h, `nope.testns.svc.${z}.`, 'A')).rcode, 'SERVFAIL');
  t.is((await ask(h, '9.9.0.10.in-addr.arpa.', 'PTR')).rcode, 'SERVFAIL');
  t.like(await ask(h, `svc1.testns.svc.${z}.`, 'AAAA'), { rcode: 'NOERROR', answer: [] });
  t.deepEqual((await ask(h, `svc1.testns.svc.${z}.`, 'A')).answer, [`svc1.testns.svc.${z}.\t5\tIN\tA\t10.0.0.1`]);
});

test("kubeadm's zones and fallthrough: known addresses answered, unknown ones passed on", async (t) => {
  const h = chainFor(`.:53 {\n  kubernetes ${z} in-addr.arpa ip6.arpa {\n    fallthrough in-addr.arpa ip6.arpa\n  }\n}\n`);
  t.deepEqual((await ask(h, '2.0.0.172.in-addr.arpa.', 'PTR')).answer, [`2.0.0.172.in-addr.arpa.\t5\tIN\tPTR\tpod-a.hdls1.testns.svc.${z}.`]);
  t.is((await ask(h, '9.9.9.10.in-addr.arpa.', 'PTR')).rcode, 'SERVFAIL');
  t.is((await ask(h, `nope.testns.svc.${z}.`, 'A')).rcode, 'NXDOMAIN');
});
