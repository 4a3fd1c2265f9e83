import test from 'ava';
import type { PodMode } from '../../../../src/dns/lookup.ts';
import { toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { checkCase, type DnsCase } from '../helpers.ts';
import { ask, coreDnsIndex, SOA } from './fixture.ts';

// CoreDNS's apex (kubernetes_apex_test.go), pod mode (handler_pod_*_test.go)
// and reverse (reverse_test.go) tables, source in fixture.ts. Nothing is
// left out.

const Z = 'cluster.local';
const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;
const HINFO = 13;

const apexCases: DnsCase[] = [
  { name: 'SOA', qname: `${Z}.`, qtype: 'SOA', rcode: 'NOERROR', answer: [SOA] },
  { name: 'HINFO', qname: `${Z}.`, qtype: String(HINFO), rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'NS with glue', qname: `${Z}.`, qtype: 'NS', rcode: 'NOERROR', answer: [rr(`${Z}.`, 'NS', `ns.dns.${Z}.`)], extra: [rr(`ns.dns.${Z}.`, 'A', '127.0.0.1')] },
  { name: 'A', qname: `${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'AAAA', qname: `${Z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'SRV', qname: `${Z}.`, qtype: 'SRV', rcode: 'NOERROR', answer: [], ns: [SOA] },
];
for (const tc of apexCases) {
  // Upstream's test sets the server's addresses to 127.0.0.1 directly.
  test(`TestServeDNSApex: ${tc.name}`, async (t) => {
    const got = await ask(coreDnsIndex(), tc.qname, Number(tc.qtype) || tc.qtype, { localIPs: ['127.0.0.1'] });
    checkCase(t, got, tc);
  });
}

const podNamespaces = ['testns', 'podns', 'svcns', 'kube-system'];
const podCases: Array<DnsCase & { mode: PodMode }> = [
  { mode: 'insecure', qname: `10-240-0-1.podns.pod.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [rr(`10-240-0-1.podns.pod.${Z}.`, 'A', '10.240.0.1')] },
  { mode: 'insecure', qname: `172-0-0-2.podns.pod.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [rr(`172-0-0-2.podns.pod.${Z}.`, 'A', '172.0.0.2')] },
  { mode: 'insecure', qname: `blah.podns.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'insecure', qname: `blah.podns.pod.${Z}.`, qtype: 'AAAA', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'insecure', qname: `blah.podns.pod.${Z}.`, qtype: String(HINFO), rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'insecure', qname: `blah.pod-nons.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'insecure', qname: `podns.pod.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { mode: 'verified', qname: `10-240-0-1.podns.pod.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [rr(`10-240-0-1.podns.pod.${Z}.`, 'A', '10.240.0.1')] },
  { mode: 'verified', qname: `podns.pod.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { mode: 'verified', qname: `svcns.svc.${Z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { mode: 'verified', qname: `pod-nons.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'verified', qname: `172-0-0-2.podns.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'disabled', qname: `10-240-0-1.podns.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { mode: 'disabled', qname: `172-0-0-2.podns.pod.${Z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
];
for (const tc of podCases) {
  test(`pods ${tc.mode} (handler_pod_${tc.mode}_test.go): ${tc.qname} ${tc.qtype}`, async (t) => {
    // The one pod of upstream's PodIndex: 10.240.0.1 in podns.
    const index = coreDnsIndex({ namespaces: podNamespaces, pods: [['podns', '10.240.0.1']] });
    checkCase(t, await ask(index, tc.qname, Number(tc.qtype) || tc.qtype, { podMode: tc.mode }), tc);
  });
}

/** reverseIndex is APIConnReverseTest's cluster: svc1 at 192.168.1.100, its endpoints in three slices, one shared with svc2. */
function reverseIndex(): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  const http = [{ name: 'http', protocol: 'TCP', port: 80 }];
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'svc1' }, spec: { clusterIP: '192.168.1.100', ports: http } }));
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'svc2' }, spec: { clusterIP: 'None', ports: http } }));
  const slice = (svc: string, name: string, eps: Array<[string, string]>) => index.setEndpointSlice(toDnsEndpointSlice({
    metadata: { namespace: 'testns', name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: eps[0]![0].includes(':') ? 'IPv6' : 'IPv4',
    endpoints: eps.map(([ip, hostname]) => ({ addresses: [ip], hostname, conditions: { ready: true } })),
    ports: http,
  })!);
  slice('svc1', 'svc1-slice1', [['10.0.0.100', 'ep1a'], ['10.0.0.99', 'double-ep']]);
  slice('svc1', 'svc1-slice2', [['1234:abcd::1', 'ep1b'], ['fd00:77:30::a', 'ip6svc1ex'], ['fd00:77:30::2:9ba6', 'ip6svc1in']]);
  slice('svc1', 'svc1-ccccc', [['10.0.0.100', 'ep1a']]);
  slice('svc2', 'svc2-slice1', [['10.0.0.99', 'double-ep']]);
  index.markSynced();
  return index;
}
const v6a = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.';
const v6b = 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.';
const v6c = '6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.';
// TestReverse's plugin is given the cluster zone and four reverse zones, without fallthrough.
const REVERSE_ZONES = ['0.10.in-addr.arpa', '168.192.in-addr.arpa', '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa', '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa'];
const REVERSE_SOA = rr('0.10.in-addr.arpa.', 'SOA', 'ns.dns.0.10.in-addr.arpa. hostmaster.0.10.in-addr.arpa. 7200 1800 86400 5');
const reverseCases: DnsCase[] = [
  { qname: '100.0.0.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: [rr('100.0.0.10.in-addr.arpa.', 'PTR', `ep1a.svc1.testns.svc.${Z}.`)] },
  { qname: '100.1.168.192.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: [rr('100.1.168.192.in-addr.arpa.', 'PTR', `svc1.testns.svc.${Z}.`)] },
  { qname: v6a, qtype: 'PTR', rcode: 'NOERROR', answer: [rr(v6a, 'PTR', `ep1b.svc1.testns.svc.${Z}.`)] },
  { qname: v6b, qtype: 'PTR', rcode: 'NOERROR', answer: [rr(v6b, 'PTR', `ip6svc1ex.svc1.testns.svc.${Z}.`)] },
  { qname: v6c, qtype: 'PTR', rcode: 'NOERROR', answer: [rr(v6c, 'PTR', `ip6svc1in.svc1.testns.svc.${Z}.`)] },
  { qname: '101.0.0.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NXDOMAIN', ns: [REVERSE_SOA] },
  { qname: `example.org.${Z}.`, qtype: 'PTR', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: `svc1.testns.svc.${Z}.`, qtype: 'PTR', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'svc1.testns.svc.0.10.in-addr.arpa.', qtype: 'A', rcode: 'NXDOMAIN', ns: [REVERSE_SOA] },
  { qname: `100.0.0.10.${Z}.`, qtype: 'PTR', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: '99.0.0.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: [rr('99.0.0.10.in-addr.arpa.', 'PTR', `double-ep.svc1.testns.svc.${Z}.`), rr('99.0.0.10.in-addr.arpa.', 'PTR', `double-ep.svc2.testns.svc.${Z}.`)] },
];
for (const tc of reverseCases) {
  test(`TestReverse: ${tc.qname} ${tc.qtype}`, async (t) => checkCase(t, await ask(reverseIndex(), tc.qname, tc.qtype, { reverseZones: REVERSE_ZONES }), tc));
}

// TestNsAddrs (ns_test.go): this server (10.244.0.20) is an endpoint of a
// ClusterIP, a headless and an IPv6 Service; the apex NS names all three
// with their addresses as glue. Upstream's zone inter.webs.test is cluster.local here.
test('TestNsAddrs: the NS targets and glue of every Service this server is an endpoint of', async (t) => {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('kube-system');
  const dns = [{ name: 'dns', protocol: 'UDP', port: 53 }];
  for (const [name, clusterIP] of [['dns-service', '10.0.0.111'], ['hdls-dns-service', 'None'], ['dns6-service', '10::111']] as const) {
    index.setService(toDnsService({ metadata: { namespace: 'kube-system', name }, spec: { clusterIP, ports: dns } }));
    index.setEndpointSlice(toDnsEndpointSlice({
      metadata: { namespace: 'kube-system', name: `${name}-slice1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.20'], conditions: { ready: true } }], ports: dns,
    })!);
  }
  index.markSynced();
  const got = await ask(index, `${Z}.`, 'NS', { localIPs: ['10.244.0.20'] });
  t.deepEqual(got.answer.sort(), [`dns-service.kube-system.svc.${Z}.`, `10-244-0-20.hdls-dns-service.kube-system.svc.${Z}.`, `dns6-service.kube-system.svc.${Z}.`].map((n) => rr(`${Z}.`, 'NS', n)).sort());
  t.deepEqual(got.extra.sort(), [
    rr(`dns-service.kube-system.svc.${Z}.`, 'A', '10.0.0.111'),
    rr(`10-244-0-20.hdls-dns-service.kube-system.svc.${Z}.`, 'A', '10.244.0.20'),
    rr(`dns6-service.kube-system.svc.${Z}.`, 'AAAA', '10::111'),
  ].sort());
});
