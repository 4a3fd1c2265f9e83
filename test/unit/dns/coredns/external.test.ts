import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { k8sExternal, type K8sExternalConfig } from '../../../../src/dns/corefile/k8s-external.ts';
import { parseCorefile } from '../../../../src/dns/corefile/parse.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import type { Client } from '../../../../src/dns/handler.ts';
import { ExternalTransfer } from '../../../../src/dns/k8s-external-transfer.ts';
import { externalNsAddresses, K8sExternal } from '../../../../src/dns/k8s-external.ts';
import { toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { MAX_TCP_SIZE } from '../../../../src/dns/wire/constants.ts';
import { parseQuery } from '../../../../src/dns/wire/query.ts';
import { buildQuery, checkCase, decode, type DnsCase } from '../helpers.ts';
import { SERVICE_MODIFIED } from './fixture.ts';

// CoreDNS's k8s_external plugin tests (plugin/k8s_external/external_test.go TestExternal,
// apex_test.go TestApex, setup_test.go TestSetup; plugin/kubernetes/ns_test.go
// TestNsAddrsExternal*; controller_test.go TestServiceModified's external column;
// coredns/coredns@4b26cced3), over upstream's own external test cluster
// (svcIndexExternal, epIndexExternal) loaded through Ferry's projections.
// The SOA serial is the time of the last external change in Ferry (upstream's test
// stubs it); the decoder leaves serials out. TestExternal's rows are all here.

const http = [{ name: 'http', protocol: 'TCP', port: 80 }];
const svc = (name: string, spec: Service['spec'], status?: Service['status']): Service => ({ metadata: { namespace: 'testns', name }, spec, ...(status ? { status } : {}) });
const SERVICES: Service[] = [
  svc('svc1', { type: 'ClusterIP', clusterIP: '10.0.0.1', externalIPs: ['1.2.3.4'], ports: http }),
  svc('svc6', { type: 'ClusterIP', clusterIP: '10.0.0.3', externalIPs: ['1:2::5'], ports: http }),
  // svc11 and svc12 are LoadBalancers: their addresses as the ingress status reports them (CoreDNS folds both into ExternalIPs).
  svc('svc11', { type: 'LoadBalancer', clusterIP: '10.0.0.3', ports: http }, { loadBalancer: { ingress: [{ ip: '2.3.4.5' }] } }),
  svc('svc12', { type: 'LoadBalancer', clusterIP: '10.0.0.3', ports: http }, { loadBalancer: { ingress: [{ hostname: 'dummy.hostname' }] } }),
  svc('svc-headless', { type: 'ClusterIP', clusterIP: 'None', ports: http }),
];
const HEADLESS: EndpointSlice = {
  metadata: { namespace: 'testns', name: 'svc-headless-1', labels: { 'kubernetes.io/service-name': 'svc-headless' } }, addressType: 'IPv4',
  endpoints: [{ addresses: ['1.2.3.4'], hostname: 'endpoint-svc-0', conditions: { ready: true } }, { addresses: ['1.2.3.5'], hostname: 'endpoint-svc-1', conditions: { ready: true } }],
  ports: http,
};

function externalIndex(): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  for (const s of SERVICES) index.setService(toDnsService(s));
  index.setEndpointSlice(toDnsEndpointSlice(HEADLESS)!);
  index.markSynced();
  return index;
}

const TCP: Client = { proto: 'tcp', address: '127.0.0.1', family: 4 };
const CONFIG: K8sExternalConfig = { zones: ['example.com', 'in-addr.arpa'], apex: 'dns', ttl: 5, headless: true, fallthrough: undefined };

function plugin(index: RecordIndex, cfg: Partial<K8sExternalConfig> = {}, localIPs: string[] = []): K8sExternal {
  const source = { controller: index, localIPs, externalModified: () => index.externalModified(), servicesByExternalIP: (ip: string) => index.servicesByExternalIP(ip) };
  return new K8sExternal({ ...CONFIG, ...cfg }, source);
}

/** respond is the plugin's step in the chain: undefined passes the query on to the kubernetes plugin. */
const respond = (p: K8sExternal, qname: string, qtype: string) => p.respond(parseQuery(buildQuery(qname, qtype)), MAX_TCP_SIZE);

async function ask(p: K8sExternal, qname: string, qtype: string) {
  const out = respond(p, qname, qtype);
  if (!out) throw new Error(`no k8s_external answer to ${qname} ${qtype}`);
  const d = decode(out);
  if (!d.aa) throw new Error('not authoritative');
  return d;
}

const SOA = 'example.com.\t5\tIN\tSOA\tns1.dns.example.com. hostmaster.dns.example.com. 7200 1800 86400 5';
const row = (qname: string, qtype: string, rcode: string, answer: string[], extra?: string[]): DnsCase => ({ qname, qtype, rcode, answer, ns: answer.length ? [] : [SOA], ...(extra ? { extra } : {}) });
const A = (n: string, ip: string) => `${n}\t5\tIN\tA\t${ip}`;
const SRV = (n: string, w: number, target: string) => `${n}\t5\tIN\tSRV\t0 ${w} 80 ${target}`;
const TN = 'testns.example.com.';

const TESTS: DnsCase[] = [
  { qname: '4.3.2.1.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: ['4.3.2.1.in-addr.arpa.\t5\tIN\tPTR\tsvc1.testns.example.com.'] },
  row(`svc1.${TN}`, 'PTR', 'NOERROR', []),
  row(`not-existing.${TN}`, 'PTR', 'NXDOMAIN', []),
  row(`svc1.${TN}`, 'A', 'NOERROR', [A(`svc1.${TN}`, '1.2.3.4')]),
  row(`svc1.${TN}`, 'SRV', 'NOERROR', [SRV(`svc1.${TN}`, 100, `svc1.${TN}`)], [A(`svc1.${TN}`, '1.2.3.4')]),
  row(`*._not-udp-or-tcp.svc1.${TN}`, 'SRV', 'NXDOMAIN', []),
  row(`_http._tcp.svc1.${TN}`, 'SRV', 'NOERROR', [SRV(`_http._tcp.svc1.${TN}`, 100, `svc1.${TN}`)], [A(`svc1.${TN}`, '1.2.3.4')]),
  row(`svc1.${TN}`, 'AAAA', 'NOERROR', []),
  row(`svc0.${TN}`, 'AAAA', 'NXDOMAIN', []),
  row(`svc0.${TN}`, 'A', 'NXDOMAIN', []),
  row('svc0.svc-nons.example.com.', 'A', 'NXDOMAIN', []),
  row(`svc6.${TN}`, 'AAAA', 'NOERROR', [`svc6.${TN}\t5\tIN\tAAAA\t1:2::5`]),
  row(`_http._tcp.svc6.${TN}`, 'SRV', 'NOERROR', [SRV(`_http._tcp.svc6.${TN}`, 100, `svc6.${TN}`)], [`svc6.${TN}\t5\tIN\tAAAA\t1:2::5`]),
  row(`svc6.${TN}`, 'SRV', 'NOERROR', [SRV(`svc6.${TN}`, 100, `svc6.${TN}`)], [`svc6.${TN}\t5\tIN\tAAAA\t1:2::5`]),
  row(TN, 'A', 'NOERROR', []),
  row(TN, 'SOA', 'NOERROR', []),
  row(`svc11.${TN}`, 'A', 'NOERROR', [A(`svc11.${TN}`, '2.3.4.5')]),
  row(`_http._tcp.svc11.${TN}`, 'SRV', 'NOERROR', [SRV(`_http._tcp.svc11.${TN}`, 100, `svc11.${TN}`)], [A(`svc11.${TN}`, '2.3.4.5')]),
  row(`svc11.${TN}`, 'SRV', 'NOERROR', [SRV(`svc11.${TN}`, 100, `svc11.${TN}`)], [A(`svc11.${TN}`, '2.3.4.5')]),
  row(`svc12.${TN}`, 'A', 'NOERROR', [`svc12.${TN}\t5\tIN\tCNAME\tdummy.hostname.`]),
  row(`_http._tcp.svc12.${TN}`, 'SRV', 'NOERROR', [SRV(`_http._tcp.svc12.${TN}`, 100, 'dummy.hostname.')]),
  row(`svc12.${TN}`, 'SRV', 'NOERROR', [SRV(`svc12.${TN}`, 100, 'dummy.hostname.')]),
  row(`svc-headless.${TN}`, 'A', 'NOERROR', [A(`svc-headless.${TN}`, '1.2.3.4'), A(`svc-headless.${TN}`, '1.2.3.5')]),
  ...['', '_http._tcp.'].map((prefix) =>
    row(`${prefix}svc-headless.${TN}`, 'SRV', 'NOERROR', [SRV(`${prefix}svc-headless.${TN}`, 50, `endpoint-svc-0.svc-headless.${TN}`), SRV(`${prefix}svc-headless.${TN}`, 50, `endpoint-svc-1.svc-headless.${TN}`)],
      [A(`endpoint-svc-0.svc-headless.${TN}`, '1.2.3.4'), A(`endpoint-svc-1.svc-headless.${TN}`, '1.2.3.5')])),
  ...[['0', '1.2.3.4'], ['1', '1.2.3.5']].flatMap(([i, ip]) => {
    const n = `endpoint-svc-${i}.svc-headless.${TN}`;
    return [row(n, 'SRV', 'NOERROR', [SRV(n, 100, n)], [A(n, ip!)]), row(n, 'A', 'NOERROR', [A(n, ip!)])];
  }),
];

for (const [i, tc] of TESTS.entries()) {
  test(`TestExternal ${i}: ${tc.qname} ${tc.qtype}`, async (t) => {
    checkCase(t, await ask(plugin(externalIndex()), tc.qname, tc.qtype), tc);
  });
}

test('names outside the zones go to the next plugin; fallthrough passes NXDOMAINs on, not NODATA', async (t) => {
  t.is(respond(plugin(externalIndex()), 'svc1.testns.svc.cluster.local', 'A'), undefined);
  const fall = plugin(externalIndex(), { fallthrough: [''] });
  t.is(respond(fall, `svc0.${TN}`, 'A'), undefined);
  checkCase(t, await ask(fall, `svc1.${TN}`, 'AAAA'), row(`svc1.${TN}`, 'AAAA', 'NOERROR', []));
  const other = plugin(externalIndex(), { fallthrough: ['other.org'] });
  checkCase(t, await ask(other, `svc0.${TN}`, 'A'), row(`svc0.${TN}`, 'A', 'NXDOMAIN', []));
});

test('without headless a headless Service has no external records', async (t) => {
  checkCase(t, await ask(plugin(externalIndex(), { headless: false }), `svc-headless.${TN}`, 'A'), row(`svc-headless.${TN}`, 'A', 'NXDOMAIN', []));
});

// apex_test.go TestApex (zone example.com, ns1's address from externalAddress: 127.0.0.1, here this server's own),
// with three rows of apex.go's own (dns. A, ns2.dns., a.b.dns.: NODATA and NXDOMAIN below the apex label).
const APEX: DnsCase[] = [
  { qname: 'example.com.', qtype: 'SOA', rcode: 'NOERROR', answer: [SOA], ns: [] },
  { qname: 'example.com.', qtype: 'NS', rcode: 'NOERROR', answer: ['example.com.\t5\tIN\tNS\tns1.dns.example.com.'], extra: [A('ns1.dns.example.com.', '127.0.0.1')] },
  { qname: 'example.com.', qtype: 'SRV', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'dns.example.com.', qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'dns.example.com.', qtype: 'SRV', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'dns.example.com.', qtype: 'NS', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'ns1.dns.example.com.', qtype: 'NS', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'ns1.dns.example.com.', qtype: 'A', rcode: 'NOERROR', answer: [A('ns1.dns.example.com.', '127.0.0.1')] },
  { qname: 'ns1.dns.example.com.', qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'ns1.dns.example.com.', qtype: 'SRV', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: 'ns2.dns.example.com.', qtype: 'A', rcode: 'NXDOMAIN', answer: [], ns: [SOA] },
  { qname: 'a.b.dns.example.com.', qtype: 'A', rcode: 'NXDOMAIN', answer: [], ns: [SOA] },
];
for (const tc of APEX) {
  test(`TestApex: ${tc.qname} ${tc.qtype}`, async (t) => {
    checkCase(t, await ask(plugin(externalIndex(), { zones: ['example.com'] }, ['127.0.0.1']), tc.qname, tc.qtype), tc);
  });
}

test('apex option: the name server and hostmaster live under it', async (t) => {
  const d = await ask(plugin(externalIndex(), { apex: 'otherdns', ttl: 10 }, ['127.0.0.1']), 'example.com.', 'NS');
  t.deepEqual(d.answer, ['example.com.\t10\tIN\tNS\tns1.otherdns.example.com.']);
  t.deepEqual(d.extra, ['ns1.otherdns.example.com.\t10\tIN\tA\t127.0.0.1']);
});

// ns_test.go: APIConnTest's three DNS Services, all with endpoint 10.244.0.20 (this server).
function nsIndex(dnsServiceExternalIPs?: string[]): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('kube-system');
  const add = (name: string, clusterIP: string, externalIPs?: string[]) => {
    index.setService(toDnsService({ metadata: { namespace: 'kube-system', name }, spec: { clusterIP, ...(externalIPs ? { externalIPs } : {}) } }));
    index.setEndpointSlice(toDnsEndpointSlice({ metadata: { namespace: 'kube-system', name: `${name}-slice1`, labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.20'] }] })!);
  };
  add('dns-service', '10.0.0.111', dnsServiceExternalIPs);
  add('hdls-dns-service', 'None');
  add('dns6-service', '10::111');
  return index;
}
const nsSource = (index: RecordIndex) => ({ controller: index, localIPs: ['10.244.0.20'] });

test('TestNsAddrsExternalHeadless: with headless, the headless DNS Service\'s endpoint', (t) => {
  t.deepEqual(externalNsAddresses(nsSource(nsIndex()), 'example.com', true), [{ name: '10-244-0-20.hdls-dns-service.kube-system.example.com', ip: '10.244.0.20' }]);
});

test('TestNsAddrsExternal: none until the DNS Service gets an external IP', (t) => {
  const index = nsIndex();
  t.deepEqual(externalNsAddresses(nsSource(index), 'example.com', false), []);
  index.setService(toDnsService({ metadata: { namespace: 'kube-system', name: 'dns-service' }, spec: { clusterIP: '10.0.0.111', externalIPs: ['1.2.3.4'] } }));
  t.deepEqual(externalNsAddresses(nsSource(index), 'example.com', false), [{ name: 'dns-service.kube-system.example.com', ip: '1.2.3.4' }]);
});

test('TestNsAddrsExternalWithPreexistingExternalIP', (t) => {
  t.deepEqual(externalNsAddresses(nsSource(nsIndex(['1.2.3.4'])), 'example.com', false), [{ name: 'dns-service.kube-system.example.com', ip: '1.2.3.4' }]);
});

test('the apex NS glue is the DNS Service\'s external address, named ns1.dns.<zone>', async (t) => {
  const p = plugin(nsIndex(['1.2.3.4']), { zones: ['example.com'], headless: false }, ['10.244.0.20']);
  checkCase(t, await ask(p, 'example.com.', 'NS'), { qname: '', qtype: '', rcode: 'NOERROR', answer: ['example.com.\t5\tIN\tNS\tns1.dns.example.com.'], extra: [A('ns1.dns.example.com.', '1.2.3.4')] });
});

// controller_test.go TestServiceModified's external column (fixture.ts): which updates change the external zone's serial.
const spec = (s: Service['spec']): Service => ({ metadata: { namespace: 'testns', name: 'svc' }, spec: s });
for (const [name, old, cur, , changed] of SERVICE_MODIFIED) {
  test(`TestServiceModified (external zone): ${name}`, async (t) => {
    const index = new RecordIndex({ watchNamespaces: true });
    if (old) index.setService(toDnsService(old));
    const before = index.externalModified();
    await new Promise((r) => setTimeout(r, 1100)); // the serial counts seconds
    if (cur) index.setService(toDnsService(cur));
    else index.deleteService('testns', 'svc');
    t.is(index.externalModified() !== before, changed);
  });
}

test('an external IP change alone leaves the cluster zone unchanged but moves the PTR index', (t) => {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setService(toDnsService(spec({ clusterIP: '10.0.0.1', externalIPs: ['10.0.0.1'] })));
  let n = 0;
  index.onChange(() => n++);
  index.setService(toDnsService(spec({ clusterIP: '10.0.0.1', externalIPs: ['10.0.0.2'] })));
  t.is(n, 0);
  t.deepEqual(index.servicesByExternalIP('10.0.0.1'), []);
  t.is(index.servicesByExternalIP('10.0.0.2')[0]?.name, 'svc');
});

// setup_test.go TestSetup: the options and their errors.
const parse = (text: string) => k8sExternal(parseCorefile(`. {\n${text}\n}`)[0]!.directives[0]!, ['.']);
test('TestSetup: zones, apex, ttl, headless, fallthrough', (t) => {
  t.deepEqual(parse('k8s_external'), { zones: [''], apex: 'dns', ttl: 5, headless: false, fallthrough: undefined });
  t.deepEqual(parse('k8s_external example.org Example.com.'), { zones: ['example.org', 'example.com'], apex: 'dns', ttl: 5, headless: false, fallthrough: undefined });
  t.deepEqual(parse('k8s_external example.org {\n apex testdns\n ttl 10\n headless\n fallthrough a.org\n}'), { zones: ['example.org'], apex: 'testdns', ttl: 10, headless: true, fallthrough: ['a.org'] });
  t.deepEqual(parse('k8s_external example.org {\n fallthrough\n}').fallthrough, ['']);
  t.throws(() => parse('k8s_external example.org {\n ttl 4000\n}'), { message: /ttl must be in range \[0, 3600\]: 4000/ });
  t.throws(() => parse('k8s_external example.org {\n apex\n}'), { message: /Wrong argument count/ });
  t.throws(() => parse('k8s_external example.org {\n unknown\n}'), { message: /unknown property 'unknown'/ });
  t.throws(() => loadCorefile('. {\n k8s_external example.org\n}'), { message: /kubernetes plugin not loaded/ });
  t.truthy(loadCorefile('. {\n kubernetes cluster.local\n k8s_external example.org\n}')[0]!.k8sExternal);
});

// transfer_test.go TestTransferAXFR / TestTransferIXFR: an AXFR of example.com holds exactly the records of
// TestExternal's and TestApex's successful answers (but PTR and the wildcard row); an IXFR at the current serial the SOA alone.
function transfer(index: RecordIndex, qtype: string, serial?: number): string[] {
  const p = plugin(index, { zones: ['example.com'] }, ['127.0.0.1']);
  const xfr = new ExternalTransfer({ zones: ['example.com.'], to: ['*'] }, p, ['example.com'], true);
  let query = buildQuery('example.com', qtype);
  if (serial !== undefined) {
    // The IXFR's authority SOA: owner example.com, rdata names as root labels, serial then four counters.
    const soa = Buffer.concat([Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]), Buffer.alloc(20)]);
    soa.writeUInt32BE(serial, 13 + 10 + 2);
    query = Buffer.concat([query, soa]);
    query.writeUInt16BE(1, 8);
  }
  const messages = xfr.messages(query, TCP);
  if (!messages) throw new Error('no transfer');
  return [...messages].flatMap((m) => decode(m).answer);
}

test('TestTransferAXFR: the zone is what the queries answer', (t) => {
  const expected = new Set([...TESTS, ...APEX].filter((tc) => tc.rcode === 'NOERROR').flatMap((tc) => tc.answer ?? []).filter((rr) => !rr.includes('*') && !rr.includes('\tPTR\t')));
  const got = transfer(externalIndex(), 'AXFR');
  t.deepEqual([...new Set(got)].sort(), [...expected].sort());
  t.is(got[0], SOA);
  t.is(got.at(-1), SOA);
});

test('TestTransferIXFR: at the current serial, the SOA alone; other zones are not its to transfer', (t) => {
  const index = externalIndex();
  t.deepEqual(transfer(index, 'IXFR', index.externalModified()), [SOA]);
  t.true(transfer(index, 'IXFR', index.externalModified() - 10).length > 2);
  const xfr = new ExternalTransfer({ zones: ['example.com.'], to: ['*'] }, plugin(index), ['example.com'], true);
  t.is(xfr.messages(buildQuery('testns.example.com', 'AXFR'), TCP), undefined);
  t.is(xfr.messages(buildQuery('svc1.testns.example.com', 'A'), TCP), undefined);
  const refused = new ExternalTransfer({ zones: ['example.com.'], to: ['10.9.9.9'] }, plugin(index), ['example.com'], true).messages(buildQuery('example.com', 'AXFR'), TCP);
  t.is(decode([...refused!][0]!).rcode, 'REFUSED');
});
