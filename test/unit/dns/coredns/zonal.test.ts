import test from 'ava';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import { slimEndpointSlice, toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { buildQuery, checkCase, decode, type DnsCase } from '../helpers.ts';
import { SOA } from './fixture.ts';

// CoreDNS's TestServeDNSZonal and TestEndpointsEquivalentZoneChange
// (plugin/kubernetes/zonal_test.go, coredns/coredns@4b26cced3): with
// `kubernetes { zonal }`, `topozone.pin|prefer._zone.<svc>.<ns>.svc.<zone>`
// names a headless Service's endpoints in one topology zone (the
// EndpointSlice endpoints' `zone`). APIConnZonalTest's cluster is rebuilt
// as Services and an EndpointSlice.

const Z = 'cluster.local';
const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;
const http = [{ name: 'http', protocol: 'TCP', port: 80 }];

function hdlsSlice(zones: Record<string, string>): EndpointSlice {
  return {
    metadata: { namespace: 'testns', name: 'hdls-slice', labels: { 'kubernetes.io/service-name': 'hdls' } },
    addressType: 'IPv4',
    endpoints: Object.entries(zones).map(([ip, zone]) => ({ addresses: [ip], zone, conditions: { ready: true } })),
    ports: http,
  };
}

function zonalIndex(): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'hdls' }, spec: { clusterIP: 'None' } }));
  index.setService(toDnsService({ metadata: { namespace: 'testns', name: 'clstr' }, spec: { clusterIP: '10.0.0.10', ports: http } }));
  index.setEndpointSlice(toDnsEndpointSlice(hdlsSlice({ '172.0.0.1': 'us-west-2a', '172.0.0.2': 'us-west-2b', '172.0.0.3': 'us-west-2b' }))!);
  index.markSynced();
  return index;
}

function zonalHandler(index: RecordIndex, zonal: boolean): (qname: string, qtype: string) => Promise<ReturnType<typeof decode>> {
  const h = new DnsHandler({ controller: index, zone: Z, ttl: 5, podMode: 'disabled', zonal, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  return async (qname, qtype) => decode((await h.handle(buildQuery(qname, qtype), { proto: 'tcp', address: '127.0.0.1', family: 4 }))!);
}

const name = (zone: string, directive: string, svc = 'hdls') => `${zone}.${directive}._zone.${svc}.testns.svc.${Z}.`;
const target = (ip: string) => `${ip.replaceAll('.', '-')}.hdls.testns.svc.${Z}.`;

const zonalTestCases: DnsCase[] = [
  { name: 'pin: endpoints narrowed to the requested zone', qname: name('us-west-2a', 'pin'), qtype: 'A', rcode: 'NOERROR', answer: [rr(name('us-west-2a', 'pin'), 'A', '172.0.0.1')] },
  { name: 'pin: two endpoints in the zone', qname: name('us-west-2b', 'pin'), qtype: 'A', rcode: 'NOERROR', answer: ['172.0.0.2', '172.0.0.3'].map((ip) => rr(name('us-west-2b', 'pin'), 'A', ip)) },
  { name: 'pin: a zone without endpoints is NODATA', qname: name('us-west-2c', 'pin'), qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'prefer: narrows like pin when the zone is populated', qname: name('us-west-2a', 'prefer'), qtype: 'A', rcode: 'NOERROR', answer: [rr(name('us-west-2a', 'prefer'), 'A', '172.0.0.1')] },
  { name: 'prefer: an empty zone falls back to every endpoint', qname: name('us-west-2c', 'prefer'), qtype: 'A', rcode: 'NOERROR', answer: ['172.0.0.1', '172.0.0.2', '172.0.0.3'].map((ip) => rr(name('us-west-2c', 'prefer'), 'A', ip)) },
  { name: 'a nonexistent service stays NXDOMAIN', qname: name('us-west-2a', 'pin', 'ghost'), qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'an unknown directive is the too-long NXDOMAIN', qname: name('us-west-2a', 'florp'), qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'zone-scoped names are for headless services only', qname: name('us-west-2a', 'pin', 'clstr'), qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'pin: exists-but-empty is NODATA for TXT too', qname: name('us-west-2c', 'pin'), qtype: 'TXT', rcode: 'NOERROR', answer: [], ns: [SOA] },
  {
    name: 'prefer: SRV falls back when the zone is empty', qname: name('us-west-2c', 'prefer'), qtype: 'SRV', rcode: 'NOERROR',
    answer: ['172.0.0.1', '172.0.0.2', '172.0.0.3'].map((ip) => rr(name('us-west-2c', 'prefer'), 'SRV', `0 33 80 ${target(ip)}`)),
    extra: ['172.0.0.1', '172.0.0.2', '172.0.0.3'].map((ip) => rr(target(ip), 'A', ip)),
  },
  { name: 'prefer: TXT is NODATA', qname: name('us-west-2c', 'prefer'), qtype: 'TXT', rcode: 'NOERROR', answer: [], ns: [SOA] },
  {
    name: 'pin: SRV comes out zone-filtered', qname: name('us-west-2b', 'pin'), qtype: 'SRV', rcode: 'NOERROR',
    answer: ['172.0.0.2', '172.0.0.3'].map((ip) => rr(name('us-west-2b', 'pin'), 'SRV', `0 50 80 ${target(ip)}`)),
    extra: ['172.0.0.2', '172.0.0.3'].map((ip) => rr(target(ip), 'A', ip)),
  },
];

for (const tc of zonalTestCases) {
  test(`TestServeDNSZonal: ${tc.name}`, async (t) => checkCase(t, await zonalHandler(zonalIndex(), true)(tc.qname, tc.qtype), tc));
}

test('TestServeDNSZonal (zonal off): the shape is the too-long NXDOMAIN', async (t) => {
  checkCase(t, await zonalHandler(zonalIndex(), false)(name('us-west-2a', 'pin'), 'A'), { qname: '', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] });
});

test('a zone value may span labels', async (t) => {
  const index = zonalIndex();
  index.setEndpointSlice(toDnsEndpointSlice(hdlsSlice({ '172.0.0.1': 'Corp.Example.com', '172.0.0.2': 'us-west-2b' }))!);
  const got = await zonalHandler(index, true)(name('corp.example.com', 'pin'), 'A');
  t.deepEqual(got.answer, [rr(name('corp.example.com', 'pin'), 'A', '172.0.0.1')]);
});

// TestEndpointsEquivalentZoneChange: a zone-only change of a slice must change
// the answers (CoreDNS: must bump the serial). Ferry applies every slice
// update and empties its prebuilt answers, which this asks through one handler.
test('TestEndpointsEquivalentZoneChange: a zone-only endpoint change alters zonal answers', async (t) => {
  const index = zonalIndex();
  const ask = zonalHandler(index, true);
  t.is((await ask(name('us-west-2a', 'pin'), 'A')).answer.length, 1);
  const serial = index.modified();
  index.setEndpointSlice(toDnsEndpointSlice(hdlsSlice({ '172.0.0.1': 'us-west-2b', '172.0.0.2': 'us-west-2b', '172.0.0.3': 'us-west-2b' }))!);
  t.true(index.modified() >= serial);
  t.deepEqual((await ask(name('us-west-2a', 'pin'), 'A')).answer, []);
  t.is((await ask(name('us-west-2b', 'pin'), 'A')).answer.length, 3);
});

test('the zonal option: parsed from the Corefile, and the informers keep zones only then', (t) => {
  const kube = (body: string) => loadCorefile(`cluster.local {\n  kubernetes {\n${body}\n  }\n}\n`)[0]!.kubernetes!;
  t.true(kube('    zonal').zonal);
  t.false(kube('    pods insecure').zonal);
  t.throws(() => kube('    zonal yes'), { message: /zonal/ });
  const slice = hdlsSlice({ '172.0.0.1': 'us-west-2a' });
  t.is(slimEndpointSlice(slice, 'x', false, true).endpoints[0]!.zone, 'us-west-2a');
  t.is(slimEndpointSlice(slice, 'x').endpoints[0]!.zone, undefined);
});
