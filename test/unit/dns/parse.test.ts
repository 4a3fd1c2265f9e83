import test from 'ava';
import { canonicalIPv6, endpointName, parseRequest, podIPFromName, reverseName, reverseToIP, type RecordRequest } from '../../../src/dns/parse.ts';

const Z = 'cluster.local';
const req = (r: Partial<RecordRequest>): RecordRequest => ({ port: '', protocol: '', endpoint: '', cluster: '', service: '', namespace: '', podOrSvc: '', ...r });

const cases: Array<{ name: string; want: RecordRequest | undefined }> = [
  { name: Z, want: req({}) },
  { name: `svc.${Z}`, want: req({}) },
  { name: `pod.${Z}`, want: req({}) },
  { name: `ns.svc.${Z}`, want: req({ podOrSvc: 'svc', namespace: 'ns' }) },
  { name: `web.ns.svc.${Z}`, want: req({ podOrSvc: 'svc', namespace: 'ns', service: 'web' }) },
  { name: `ep.web.ns.svc.${Z}`, want: req({ podOrSvc: 'svc', namespace: 'ns', service: 'web', endpoint: 'ep' }) },
  { name: `_http._tcp.web.ns.svc.${Z}`, want: req({ podOrSvc: 'svc', namespace: 'ns', service: 'web', port: 'http', protocol: 'tcp' }) },
  { name: `1-2-3-4.ns.pod.${Z}`, want: req({ podOrSvc: 'pod', namespace: 'ns', service: '1-2-3-4' }) },
  { name: `a.b.c.web.ns.svc.${Z}`, want: undefined },
  { name: `web.ns.other.${Z}`, want: undefined },
  { name: `dns-version.${Z}`, want: undefined },
];
for (const tc of cases) {
  test(`parseRequest ${tc.name}`, (t) => t.deepEqual(parseRequest(tc.name, Z), tc.want));
}

// CoreDNS parse.go: in a multicluster zone two plain labels are endpoint.cluster; an underscore keeps them _port._proto.
test('parseRequest in a multicluster zone: endpoint.cluster, or _port._proto', (t) => {
  t.deepEqual(parseRequest(`db-0.east.web.ns.svc.${Z}`, Z, true), req({ podOrSvc: 'svc', namespace: 'ns', service: 'web', endpoint: 'db-0', cluster: 'east' }));
  t.deepEqual(parseRequest(`_http._tcp.web.ns.svc.${Z}`, Z, true), req({ podOrSvc: 'svc', namespace: 'ns', service: 'web', port: 'http', protocol: 'tcp' }));
  t.deepEqual(parseRequest(`db-0.east.web.ns.svc.${Z}`, Z), req({ podOrSvc: 'svc', namespace: 'ns', service: 'web', port: 'db-0', protocol: 'east' }));
});

const pods: Array<[string, string | undefined]> = [
  ['1-2-3-4', '1.2.3.4'],
  ['10-0-0-255', '10.0.0.255'],
  ['1-2-3-256', undefined],
  ['01-2-3-4', undefined],
  ['1-2-3', undefined],
  ['fd00--1', 'fd00::1'],
  ['2001-db8-0-0-0-0-0-1', '2001:db8::1'],
  ['fd00---1', undefined],
  ['web', undefined],
];
for (const [label, ip] of pods) test(`podIPFromName ${label}`, (t) => t.is(podIPFromName(label), ip));

const reverse: Array<[string, string | undefined]> = [
  ['4.3.2.1.in-addr.arpa', '1.2.3.4'],
  ['3.2.1.in-addr.arpa', undefined],
  ['256.3.2.1.in-addr.arpa', undefined],
  [`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa`, 'fd00::1'],
  ['1.0.ip6.arpa', undefined],
];
for (const [name, ip] of reverse) test(`reverseToIP ${name}`, (t) => t.is(reverseToIP(name), ip));

test('reverseName is the inverse of reverseToIP', (t) => {
  for (const ip of ['10.96.0.1', 'fd00::1', '2001:db8:0:1::10', '::1']) t.is(reverseToIP(reverseName(ip)), canonicalIPv6Or(ip));
});

function canonicalIPv6Or(ip: string): string {
  return ip.includes(':') ? canonicalIPv6(ip) : ip;
}

test('endpointName uses the hostname, else the dashed address', (t) => {
  t.is(endpointName('10.0.0.1', 'db-0'), 'db-0');
  t.is(endpointName('10.0.0.1', undefined), '10-0-0-1');
  t.is(endpointName('fd00::1', undefined), 'fd00--1');
});

test('canonicalIPv6 compresses the longest zero run', (t) => {
  t.is(canonicalIPv6('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  t.is(canonicalIPv6('0:0:0:0:0:0:0:1'), '::1');
  t.is(canonicalIPv6('fd00:0:0:0:0:0:0:0'), 'fd00::');
});
