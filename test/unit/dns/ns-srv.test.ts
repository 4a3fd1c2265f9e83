import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { DnsHandler } from '../../../src/dns/handler.ts';
import { boundIPs } from '../../../src/dns/ns.ts';
import type { RecordIndex } from '../../../src/dns/records.ts';
import { buildQuery, checkCase, decode, type DnsCase } from './helpers.ts';
import { fixtureIndex, SOA, ZONE } from './fixtures.ts';

// CoreDNS conformance of three answers: SRV without duplicates (dual-stack
// Services, endpoints sharing a hostname), the apex NS with glue and
// `ns.dns.<zone>` resolving (plugin/kubernetes/ns.go), as the handler gives them.
const z = ZONE;
const DNS_POD_IP = '172.0.0.53';

function withDnsService(index: RecordIndex): RecordIndex {
  index.setNamespace('kube-system');
  index.setService({ namespace: 'kube-system', name: 'kube-dns', kind: 'ClusterIP', clusterIPs: ['10.0.0.10'], externalName: '', ports: [{ name: 'dns', protocol: 'udp', port: 53 }], publishNotReady: false });
  index.setEndpointSlice({ namespace: 'kube-system', name: 'kube-dns-abc', service: 'kube-dns', endpoints: [{ ip: DNS_POD_IP, hostname: undefined, ready: true, ports: [{ name: 'dns', protocol: 'udp', port: 53 }] }] });
  return index;
}

function handler(index: RecordIndex, localIPs: string[]): DnsHandler {
  return new DnsHandler({ controller: index, zone: ZONE, ttl: 30, podMode: 'insecure', forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined, localIPs });
}

const cases: Array<DnsCase & { localIPs?: string[] }> = [
  {
    name: 'dual-stack SRV: one record (weight shared by both families), A and AAAA glue', qname: `_http._tcp.dual.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR',
    answer: [`_http._tcp.dual.testns.svc.${z}.\t30\tIN\tSRV\t0 50 80 dual.testns.svc.${z}.`],
    extra: [`dual.testns.svc.${z}.\t30\tIN\tA\t10.0.0.2`, `dual.testns.svc.${z}.\t30\tIN\tAAAA\tfd00::2`],
  },
  {
    name: 'dual-stack SRV without port labels', qname: `dual.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR',
    answer: [`dual.testns.svc.${z}.\t30\tIN\tSRV\t0 50 80 dual.testns.svc.${z}.`],
  },
  {
    name: 'endpoints sharing a hostname: one SRV for the name, both addresses as glue', qname: `_http._tcp.hdlsdup.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR',
    answer: [`_http._tcp.hdlsdup.testns.svc.${z}.\t30\tIN\tSRV\t0 33 8080 dup.hdlsdup.testns.svc.${z}.`, `_http._tcp.hdlsdup.testns.svc.${z}.\t30\tIN\tSRV\t0 33 8080 172-0-0-22.hdlsdup.testns.svc.${z}.`],
    extra: [`dup.hdlsdup.testns.svc.${z}.\t30\tIN\tA\t172.0.0.20`, `dup.hdlsdup.testns.svc.${z}.\t30\tIN\tA\t172.0.0.21`, `172-0-0-22.hdlsdup.testns.svc.${z}.\t30\tIN\tA\t172.0.0.22`],
  },
  {
    name: 'apex NS names the DNS Service this server is an endpoint of, with its ClusterIP as glue', localIPs: [DNS_POD_IP], qname: `${z}.`, qtype: 'NS', rcode: 'NOERROR',
    answer: [`${z}.\t30\tIN\tNS\tkube-dns.kube-system.svc.${z}.`], extra: [`kube-dns.kube-system.svc.${z}.\t30\tIN\tA\t10.0.0.10`],
  },
  { name: 'ns.dns.<zone> resolves to the DNS Service address', localIPs: [DNS_POD_IP], qname: `ns.dns.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`ns.dns.${z}.\t30\tIN\tA\t10.0.0.10`] },
  { name: 'the NS target resolves (a Service)', localIPs: [DNS_POD_IP], qname: `kube-dns.kube-system.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`kube-dns.kube-system.svc.${z}.\t30\tIN\tA\t10.0.0.10`] },
  {
    name: 'no Service has this server as endpoint: ns.dns.<zone> with its own address', localIPs: ['192.168.50.5'], qname: `${z}.`, qtype: 'NS', rcode: 'NOERROR',
    answer: [`${z}.\t30\tIN\tNS\tns.dns.${z}.`], extra: [`ns.dns.${z}.\t30\tIN\tA\t192.168.50.5`],
  },
  { name: 'ns.dns.<zone> then resolves to that address', localIPs: ['192.168.50.5'], qname: `ns.dns.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`ns.dns.${z}.\t30\tIN\tA\t192.168.50.5`] },
  { name: 'ns.dns.<zone> AAAA without an IPv6 address is NODATA', localIPs: ['192.168.50.5'], qname: `ns.dns.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'loopback only: the NS still names ns.dns.<zone>, without glue', localIPs: [], qname: `${z}.`, qtype: 'NS', rcode: 'NOERROR', answer: [`${z}.\t30\tIN\tNS\tns.dns.${z}.`], extra: [] },
];

for (const tc of cases) {
  test(tc.name!, async (t) => {
    const index = withDnsService(fixtureIndex());
    index.setService({ namespace: 'testns', name: 'hdlsdup', kind: 'Headless', clusterIPs: [], externalName: '', ports: [{ name: 'http', protocol: 'tcp', port: 80 }], publishNotReady: false });
    const http = [{ name: 'http', protocol: 'tcp', port: 8080 }];
    index.setEndpointSlice({
      namespace: 'testns', name: 'hdlsdup-abc', service: 'hdlsdup',
      endpoints: [{ ip: '172.0.0.20', hostname: 'dup', ready: true, ports: http }, { ip: '172.0.0.21', hostname: 'dup', ready: true, ports: http }, { ip: '172.0.0.22', hostname: undefined, ready: true, ports: http }],
    });
    const out = await handler(index, tc.localIPs ?? []).handle(buildQuery(tc.qname, tc.qtype), { proto: 'udp', address: '127.0.0.1', family: 4 });
    const got = decode(out!);
    checkCase(t, got, tc);
    t.true(got.aa);
  });
}

test('boundIPs: the listen host, or every non-loopback interface address for 0.0.0.0 / ::', (t) => {
  const ifaces = {
    lo: [{ address: '127.0.0.1' }, { address: '::1' }],
    eth0: [{ address: '10.244.0.53' }, { address: 'fe80::1' }, { address: 'fd00::53' }],
  } as unknown as Parameters<typeof boundIPs>[1];
  t.deepEqual(boundIPs('0.0.0.0', ifaces), ['10.244.0.53', 'fd00::53']);
  t.deepEqual(boundIPs('10.244.0.53', ifaces), ['10.244.0.53']);
  t.deepEqual(boundIPs('127.0.0.1', ifaces), []);
});
