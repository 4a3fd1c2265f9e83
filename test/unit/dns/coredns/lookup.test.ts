import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import { lookupRequest } from '../../../../src/dns/lookup.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, toDnsServiceImport, toMcEndpointSlice } from '../../../../src/dns/multicluster.ts';
import { nsAddresses } from '../../../../src/dns/ns.ts';
import { toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { endpointName, parseRequest, type RecordRequest } from '../../../../src/dns/parse.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { buildQuery, decode } from '../helpers.ts';
import { coreDnsIndex } from './fixture.ts';

// CoreDNS's tests of the kubernetes plugin's own functions, run against
// Ferry's equivalents (coredns/coredns@4b26cced3):
// - kubernetes_test.go TestEndpointHostname (endpointName, and
//   endpoint_pod_names through the scoped controller), TestServices
//   (Services() → lookupRequest over parseRequest: each item's address and
//   the name upstream's key stands for), TestServicesAuthority (ns.dns.<zone>
//   on the wire, and the NS glue list nsAddresses).
// - parse_test.go TestParseRequest, TestParseInvalidRequest (parseRequest).
// - namespace_test.go TestNamespaceValid, TestFilteredNamespaceExists,
//   TestNamespaceExposed (hasNamespace of the scoped controller: Ferry has
//   one function for "configured and existing"; upstream's configuredNamespace
//   rows are checked through it).
// TestServices' clusterset.test rows ask the same of a multicluster zone
// (APIConnServiceTest's SvcImportIndex and McEpIndex, from cluster1).

test('TestEndpointHostname', (t) => {
  const rows: Array<[ip: string, hostname: string, expected: string, podName: string, endpointPodNames: boolean]> = [
    ['10.11.12.13', '', '10-11-12-13', '', false],
    ['10.11.12.13', 'epname', 'epname', '', false],
    ['10.11.12.13', '', '10-11-12-13', 'hello-abcde', false],
    ['10.11.12.13', 'epname', 'epname', 'hello-abcde', false],
    ['10.11.12.13', 'epname', 'epname', 'hello-abcde', true],
    ['10.11.12.13', '', 'hello-abcde', 'hello-abcde', true],
    ['2001:db8:3333:4444:5555:6666:7777:8888', '', '2001-db8-3333-4444-5555-6666-7777-8888', '', false],
    ['2001:db8:3333:4444:5555:6666::', '', '2001-db8-3333-4444-5555-6666--0', '', false],
  ];
  for (const [ip, hostname, expected, podName, endpointPodNames] of rows) {
    const index = new RecordIndex({ watchNamespaces: true });
    index.setEndpointSlice(toDnsEndpointSlice({
      metadata: { namespace: 'ns', name: 's', labels: { 'kubernetes.io/service-name': 'svc' } }, addressType: ip.includes(':') ? 'IPv6' : 'IPv4',
      endpoints: [{ addresses: [ip], ...(hostname ? { hostname } : {}), ...(podName ? { targetRef: { kind: 'Pod', name: podName } } : {}) }],
    })!);
    const scoped = scopedController(index, { namespaces: [], noEndpoints: false, endpointPodNames, ignoreEmptyService: false });
    const ep = scoped.endpoints('ns', 'svc')[0]!;
    t.is(endpointName(ep.ip, ep.hostname), expected, `${ip} ${hostname} ${podName} ${endpointPodNames}`);
  }
});

/** APIConnServiceTest's cluster; its SvcIndex and EpIndex (what Services() reads) as Services and EndpointSlices. */
function serviceTestIndex(): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  const http = [{ name: 'http', protocol: 'TCP', port: 80 }];
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'svc1' }, spec: { clusterIP: '10.0.0.1', ports: http } }));
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'svc-dual-stack' }, spec: { clusterIPs: ['10.0.0.2', '10::2'], ports: http } }));
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'hdls1' }, spec: { clusterIP: 'None' } }));
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'external' }, spec: { type: 'ExternalName', externalName: 'coredns.io', ports: http } }));
  for (const [svc, ip, hostname] of [['svc1', '172.0.0.1', 'ep1a'], ['hdls1', '172.0.0.2', undefined]] as const) {
    index.setEndpointSlice(toDnsEndpointSlice({
      metadata: { namespace: 'testns', name: `${svc}-slice1`, labels: { 'kubernetes.io/service-name': svc } }, addressType: 'IPv4',
      endpoints: [{ addresses: [ip], ...(hostname ? { hostname } : {}), conditions: { ready: true } }], ports: http,
    })!);
  }
  index.markSynced();
  return index;
}

const W = 'interwebs.test';
/** Upstream's keys are the record names as etcd paths: /coredns/test/interwebs/svc/testns/svc1 is svc1.testns.svc.interwebs.test. */
const servicesCases: Array<{ qname: string; qtype: 'A' | 'SRV' | 'CNAME'; answer: Array<{ host: string; name: string }> }> = [
  { qname: `svc1.testns.svc.${W}`, qtype: 'A', answer: [{ host: '10.0.0.1', name: `svc1.testns.svc.${W}` }] },
  { qname: `_http._tcp.svc1.testns.svc.${W}`, qtype: 'SRV', answer: [{ host: '10.0.0.1', name: `svc1.testns.svc.${W}` }] },
  { qname: `ep1a.svc1.testns.svc.${W}`, qtype: 'A', answer: [{ host: '172.0.0.1', name: `ep1a.svc1.testns.svc.${W}` }] },
  { qname: `_http._tcp.svc-dual-stack.testns.svc.${W}`, qtype: 'SRV', answer: ['10.0.0.2', '10::2'].map((host) => ({ host, name: `svc-dual-stack.testns.svc.${W}` })) },
  // The CNAME's owner is the name asked (Ferry's item carries the target only).
  { qname: `external.testns.svc.${W}`, qtype: 'CNAME', answer: [{ host: 'coredns.io', name: 'coredns.io' }] },
  { qname: `hdls1.testns.svc.${W}`, qtype: 'A', answer: [{ host: '172.0.0.2', name: `172-0-0-2.hdls1.testns.svc.${W}` }] },
];
for (const tc of servicesCases) {
  test(`TestServices: ${tc.qname} ${tc.qtype}`, (t) => {
    const found = lookupRequest(parseRequest(tc.qname, W)!, { controller: serviceTestIndex(), zone: W, podMode: 'disabled' }, tc.qtype === 'SRV');
    t.is(found.kind, 'found');
    if (found.kind !== 'found') return;
    t.deepEqual(found.items.map((i) => ({ host: i.host, name: i.target })), tc.answer);
  });
}

test('TestServicesAuthority: ns.dns.<zone> answers the server\'s address of the family asked; the NS glue lists both', async (t) => {
  const ask = async (localIPs: string[], qtype: string) => {
    const h = new DnsHandler({ controller: serviceTestIndex(), zone: W, ttl: 5, podMode: 'disabled', localIPs, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
    return decode((await h.handle(buildQuery(`ns.dns.${W}.`, qtype), { proto: 'tcp', address: '127.0.0.1', family: 4 }))!).answer;
  };
  t.deepEqual(await ask(['1.2.3.4'], 'A'), [`ns.dns.${W}.\t5\tIN\tA\t1.2.3.4`]);
  t.deepEqual(await ask(['1.2.3.4'], 'AAAA'), []);
  t.deepEqual(await ask(['1:2::3:4'], 'A'), []);
  t.deepEqual(await ask(['1:2::3:4'], 'AAAA'), [`ns.dns.${W}.\t5\tIN\tAAAA\t1:2::3:4`]);
  const glue = nsAddresses({ controller: serviceTestIndex(), zone: W, podMode: 'disabled', localIPs: ['1.2.3.4', '1:2::3:4'] });
  t.deepEqual(glue.map((a) => [a.name, a.ip]), [[`ns.dns.${W}`, '1.2.3.4'], [`ns.dns.${W}`, '1:2::3:4']]);
});

/** upstream's recordRequest.String(): port.protocol.endpoint.cluster.service.namespace.podOrSvc. */
const str = (r: RecordRequest) => [r.port, r.protocol, r.endpoint, r.cluster, r.service, r.namespace, r.podOrSvc].join('.');
const T = 'inter.webs.tests';
const parseCases: Array<[query: string, expected: string, zonal: boolean, zone: string | undefined, multicluster?: boolean]> = [
  [`_http._tcp.webs.mynamespace.svc.${T}`, 'http.tcp...webs.mynamespace.svc', false, undefined],
  [`1-2-3-4.webs.mynamespace.svc.${T}`, '..1-2-3-4..webs.mynamespace.svc', false, undefined],
  [T, '......', false, undefined],
  [`svc.${T}`, '......', false, undefined],
  [`pod.${T}`, '......', false, undefined],
  [`..webs.mynamespace.svc.${T}`, '....webs.mynamespace.svc', false, undefined],
  [`1-2-3-4.cluster1.webs.mynamespace.svc.${T}`, '..1-2-3-4.cluster1.webs.mynamespace.svc', false, undefined, true],
  [`us-west-2a.pin._zone.webs.mynamespace.svc.${T}`, '....webs.mynamespace.svc', true, 'us-west-2a'],
  [`us-west-2a.prefer._zone.webs.mynamespace.svc.${T}`, '....webs.mynamespace.svc', true, 'us-west-2a'],
  [`corp.example.com.pin._zone.webs.mynamespace.svc.${T}`, '....webs.mynamespace.svc', true, 'corp.example.com'],
  [`us-west-2a._zone.webs.mynamespace.svc.${T}`, 'us-west-2a.zone...webs.mynamespace.svc', true, undefined],
];
test('TestParseRequest', (t) => {
  for (const [query, expected, zonal, zone, multicluster] of parseCases) {
    const r = parseRequest(query, T, multicluster ?? false, zonal);
    t.truthy(r, query);
    // Ferry's podOrSvc is '' for the apex, svc.<zone> and pod.<zone>, as upstream's String() shows.
    t.is(str(r!), expected, query);
    t.is(r!.topoZone, zone, query);
  }
});

test('TestParseInvalidRequest', (t) => {
  for (const query of ['webs.mynamespace.pood.inter.webs.tests', `too.long.for.what.i.am.trying.to.pod.${T}`, `us-west-2a.pin._zone.webs.mynamespace.svc.${T}`]) {
    t.is(parseRequest(query, T), undefined, query);
  }
  for (const query of [`us-west-2a.pin._zone.webs.mynamespace.pod.${T}`, `us-west-2a.florp._zone.webs.mynamespace.svc.${T}`]) {
    t.is(parseRequest(query, T, false, true), undefined, `${query} (zonal)`);
  }
  // Zone-scoped names are not defined in multicluster zones.
  t.is(parseRequest(`us-west-2a.pin._zone.webs.mynamespace.svc.${T}`, T, true, true), undefined, 'zonal shape in a multicluster zone');
});

// APIConnServeTest's GetNamespaceByName finds every namespace but "nsnoexist".
const namespaceCases: Array<[name: string, configured: string[], namespace: string, expected: boolean]> = [
  ['TestFilteredNamespaceExists', [], 'foobar', true],
  ['TestFilteredNamespaceExists', [], 'nsnoexist', false],
  ['TestNamespaceValid', ['foobar'], 'foobar', true],
  ['TestNamespaceValid', ['foobar'], 'nsnoexist', false],
  ['TestNamespaceValid', [], 'foobar', true],
  ['TestNamespaceValid', [], 'nsnoexist', false],
  ['TestNamespaceExposed (configured)', ['foobar'], 'foobar', true],
  ['TestNamespaceExposed (not configured)', ['foobar'], 'nsnoexist', false],
];
for (const [name, configured, namespace, expected] of namespaceCases) {
  test(`${name}: namespaces [${configured.join(' ')}], ${namespace}`, (t) => {
    const index = coreDnsIndex({ namespaces: ['foobar', 'testns'] });
    const scoped = scopedController(index, { namespaces: configured, noEndpoints: false, endpointPodNames: false, ignoreEmptyService: false });
    t.is(scoped.hasNamespace(namespace), expected);
  });
}

function importTestIndex(): RecordIndex {
  const index = serviceTestIndex();
  const http = [{ name: 'http', protocol: 'TCP', port: 80 }];
  const mc = index.multicluster;
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'svc1' }, spec: { type: 'ClusterSetIP', ips: ['10.0.0.1'], ports: http } }));
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'svc-dual-stack' }, spec: { type: 'ClusterSetIP', ips: ['10.0.0.2', '10::2'], ports: http } }));
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'hdls1' }, spec: { type: 'Headless' } }));
  for (const [svc, ip, hostname] of [['svc1', '172.0.0.1', 'ep1a'], ['hdls1', '172.0.0.2', undefined]] as const) {
    mc.setEndpointSlice(toMcEndpointSlice({
      metadata: { namespace: 'testns', name: `${svc}-slice1`, labels: { [LABEL_SERVICE_NAME]: svc, [LABEL_SOURCE_CLUSTER]: 'cluster1' } }, addressType: 'IPv4',
      endpoints: [{ addresses: [ip], ...(hostname ? { hostname } : {}), conditions: { ready: true } }], ports: http,
    })!);
  }
  mc.markSynced();
  return index;
}
const C = 'clusterset.test';
const clustersetCases: Array<{ qname: string; qtype: 'A' | 'SRV'; answer: Array<{ host: string; name: string }> }> = [
  { qname: `svc1.testns.svc.${C}`, qtype: 'A', answer: [{ host: '10.0.0.1', name: `svc1.testns.svc.${C}` }] },
  { qname: `_http._tcp.svc1.testns.svc.${C}`, qtype: 'SRV', answer: [{ host: '10.0.0.1', name: `svc1.testns.svc.${C}` }] },
  { qname: `ep1a.cluster1.svc1.testns.svc.${C}`, qtype: 'A', answer: [{ host: '172.0.0.1', name: `ep1a.cluster1.svc1.testns.svc.${C}` }] },
  { qname: `_http._tcp.svc-dual-stack.testns.svc.${C}`, qtype: 'SRV', answer: ['10.0.0.2', '10::2'].map((host) => ({ host, name: `svc-dual-stack.testns.svc.${C}` })) },
  { qname: `hdls1.testns.svc.${C}`, qtype: 'A', answer: [{ host: '172.0.0.2', name: `172-0-0-2.cluster1.hdls1.testns.svc.${C}` }] },
];
for (const tc of clustersetCases) {
  test(`TestServices (multicluster): ${tc.qname} ${tc.qtype}`, (t) => {
    const found = lookupRequest(parseRequest(tc.qname, C, true)!, { controller: importTestIndex(), zone: C, podMode: 'disabled', multicluster: true }, tc.qtype === 'SRV');
    t.is(found.kind, 'found');
    if (found.kind !== 'found') return;
    t.deepEqual(found.items.map((i) => ({ host: i.host, name: i.target })), tc.answer);
  });
}
