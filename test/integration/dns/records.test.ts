/**
 * Acceptance 1: every record kind of the Kubernetes DNS specification,
 * answered by a running `ferry dns` fed by the project's apiserver, checked
 * with dig. Addresses: ClusterIPs are chosen here (10.96.100.0/24),
 * endpoints and pods are in 172.16.0.0/24 and fd00:16::/64. The project's
 * apiserver serves IPv4 ClusterIPs only, so IPv6 ClusterIP AAAA and PTR are
 * covered by the unit table (test/unit/dns/handler.test.ts) and IPv6 here
 * by a headless service.
 */
import test from 'ava';
import { podHostname } from '../../../src/apiserver-stub/controllers/pod-endpoint.ts';
import { Cleanup, clusterIPService, createNamespace, createPod, createService, createSlice, dig, slice, startCluster, startFerryDns, type Cluster } from './harness.ts';

const Z = 'cluster.local';
const SOA = `${Z}. 30 IN SOA ns.dns.${Z}. hostmaster.${Z}. S 7200 1800 86400 30`;

async function populate(c: Cluster): Promise<void> {
  await createNamespace(c, 'testns');
  await createService(c, clusterIPService('testns', 'web', [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }], { clusterIP: '10.96.100.1' }));
  await createService(c, clusterIPService('testns', 'unnamed', [{ port: 8000 }], { clusterIP: '10.96.100.2' }));
  await createService(c, clusterIPService('testns', 'hdls', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  await createSlice(c, slice('testns', 'hdls', 'hdls-1', [
    { addresses: ['172.16.0.10'], hostname: 'db-0', conditions: { ready: true } },
    { addresses: ['172.16.0.11'], conditions: { ready: true } },
    { addresses: ['172.16.0.12'], conditions: { ready: false } },
  ], [{ name: 'http', port: 8080 }]));
  await createService(c, clusterIPService('testns', 'notready', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  await createSlice(c, slice('testns', 'notready', 'notready-1', [{ addresses: ['172.16.0.20'], conditions: { ready: false } }], [{ name: 'http', port: 8080 }]));
  await createService(c, clusterIPService('testns', 'pub', [{ name: 'http', port: 80 }], { clusterIP: 'None', publishNotReadyAddresses: true }));
  await createSlice(c, slice('testns', 'pub', 'pub-1', [{ addresses: ['172.16.0.30'], hostname: 'web-0', conditions: { ready: false } }], [{ name: 'http', port: 8080 }]));
  await createService(c, clusterIPService('testns', 'hdls6', [{ name: 'http', port: 80 }], { clusterIP: 'None', ipFamilies: ['IPv6'] }));
  await createSlice(c, slice('testns', 'hdls6', 'hdls6-1', [{ addresses: ['fd00:16::10'], conditions: { ready: true } }], [{ name: 'http', port: 8080 }]));
  await createService(c, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'testns', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'foo.example.com' } });
  await createPod(c, 'testns', 'p1', '172.16.0.10');
  // Pod hostname+subdomain: the test's apiserver runs no controllers, so the slice is written here with
  // the endpoint hostname the EndpointSlice controller derives from the pod (podHostname).
  const sub = await createService(c, clusterIPService('testns', 'sub', [{ name: 'http', port: 80 }], { clusterIP: 'None', selector: { app: 'sub' } }));
  const h = await createPod(c, 'testns', 'h-pod', '172.16.0.40', { hostname: 'h', subdomain: 'sub' });
  await createSlice(c, slice('testns', 'sub', 'sub-1', [{ addresses: ['172.16.0.40'], hostname: podHostname(h, sub), conditions: { ready: true } }], [{ name: 'http', port: 8080 }]));
}

interface Row {
  name: string;
  args: string[];
  status: string;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** Extra flags to require (AA is always required for NOERROR/NXDOMAIN). */
  tc?: boolean;
}

const rows: Row[] = [
  { name: 'ClusterIP A', args: [`web.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`web.testns.svc.${Z}. 30 IN A 10.96.100.1`], authority: [] },
  { name: 'AAAA of an IPv4-only service is NODATA', args: [`web.testns.svc.${Z}`, 'AAAA'], status: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'mixed case keeps the question', args: [`WeB.TestNS.svc.Cluster.LOCAL`, 'A'], status: 'NOERROR', answer: [`WeB.TestNS.svc.Cluster.LOCAL. 30 IN A 10.96.100.1`] },
  { name: 'missing service NXDOMAIN', args: [`nope.testns.svc.${Z}`, 'A'], status: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'SRV named port', args: [`_http._tcp.web.testns.svc.${Z}`, 'SRV'], status: 'NOERROR', answer: [`_http._tcp.web.testns.svc.${Z}. 30 IN SRV 0 100 80 web.testns.svc.${Z}.`], additional: [`web.testns.svc.${Z}. 30 IN A 10.96.100.1`] },
  { name: 'SRV named UDP port', args: [`_dns._udp.web.testns.svc.${Z}`, 'SRV'], status: 'NOERROR', answer: [`_dns._udp.web.testns.svc.${Z}. 30 IN SRV 0 100 53 web.testns.svc.${Z}.`] },
  { name: 'unnamed port has no SRV', args: [`_http._tcp.unnamed.testns.svc.${Z}`, 'SRV'], status: 'NXDOMAIN', authority: [SOA] },
  { name: 'headless A lists ready endpoints', args: [`hdls.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`hdls.testns.svc.${Z}. 30 IN A 172.16.0.10`, `hdls.testns.svc.${Z}. 30 IN A 172.16.0.11`] },
  { name: 'headless hostname record', args: [`db-0.hdls.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`db-0.hdls.testns.svc.${Z}. 30 IN A 172.16.0.10`] },
  { name: 'headless endpoint without hostname', args: [`172-16-0-11.hdls.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`172-16-0-11.hdls.testns.svc.${Z}. 30 IN A 172.16.0.11`] },
  { name: 'pod hostname+subdomain record', args: [`h.sub.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`h.sub.testns.svc.${Z}. 30 IN A 172.16.0.40`] },
  { name: 'not-ready endpoint has no record', args: [`172-16-0-12.hdls.testns.svc.${Z}`, 'A'], status: 'NXDOMAIN' },
  {
    name: 'headless SRV', args: [`_http._tcp.hdls.testns.svc.${Z}`, 'SRV'], status: 'NOERROR',
    answer: [`_http._tcp.hdls.testns.svc.${Z}. 30 IN SRV 0 50 8080 db-0.hdls.testns.svc.${Z}.`, `_http._tcp.hdls.testns.svc.${Z}. 30 IN SRV 0 50 8080 172-16-0-11.hdls.testns.svc.${Z}.`],
    additional: [`db-0.hdls.testns.svc.${Z}. 30 IN A 172.16.0.10`, `172-16-0-11.hdls.testns.svc.${Z}. 30 IN A 172.16.0.11`],
  },
  { name: 'headless with no ready endpoint is NXDOMAIN', args: [`notready.testns.svc.${Z}`, 'A'], status: 'NXDOMAIN', authority: [SOA] },
  { name: 'publishNotReadyAddresses', args: [`pub.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`pub.testns.svc.${Z}. 30 IN A 172.16.0.30`] },
  { name: 'publishNotReadyAddresses hostname', args: [`web-0.pub.testns.svc.${Z}`, 'A'], status: 'NOERROR', answer: [`web-0.pub.testns.svc.${Z}. 30 IN A 172.16.0.30`] },
  { name: 'IPv6 headless', args: [`hdls6.testns.svc.${Z}`, 'AAAA'], status: 'NOERROR', answer: [`hdls6.testns.svc.${Z}. 30 IN AAAA fd00:16::10`] },
  { name: 'ExternalName CNAME (upstream down: CNAME alone)', args: [`ext.testns.svc.${Z}`, 'CNAME'], status: 'NOERROR', answer: [`ext.testns.svc.${Z}. 30 IN CNAME foo.example.com.`] },
  { name: 'PTR of a ClusterIP', args: ['-x', '10.96.100.1'], status: 'NOERROR', answer: [`1.100.96.10.in-addr.arpa. 30 IN PTR web.testns.svc.${Z}.`] },
  { name: 'PTR of a headless endpoint', args: ['-x', '172.16.0.10'], status: 'NOERROR', answer: [`10.0.16.172.in-addr.arpa. 30 IN PTR db-0.hdls.testns.svc.${Z}.`] },
  { name: 'PTR of an IPv6 endpoint', args: ['-x', 'fd00:16::10'], status: 'NOERROR', answer: [`0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.1.0.0.0.0.d.f.ip6.arpa. 30 IN PTR fd00-16--10.hdls6.testns.svc.${Z}.`] },
  { name: 'pod record (insecure)', args: [`172-16-0-99.testns.pod.${Z}`, 'A'], status: 'NOERROR', answer: [`172-16-0-99.testns.pod.${Z}. 30 IN A 172.16.0.99`] },
  { name: 'dns-version', args: [`dns-version.${Z}`, 'TXT'], status: 'NOERROR', answer: [`dns-version.${Z}. 28800 IN TXT "1.1.0"`] },
  { name: 'svc.<zone> NODATA', args: [`svc.${Z}`, 'A'], status: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'pod.<zone> NODATA', args: [`pod.${Z}`, 'A'], status: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'AXFR REFUSED', args: [`${Z}`, 'AXFR', '+notcp'], status: 'REFUSED' },
];

const cleanup = new Cleanup();
let cluster: Cluster;
let port = 0;
test.before(async () => {
  cluster = await startCluster(cleanup);
  await populate(cluster);
  port = (await startFerryDns(cleanup, cluster.url)).port;
});
test.after.always(() => cleanup.run());

for (const row of rows) {
  test(row.name, async (t) => {
    const got = await dig(port, row.args);
    t.is(got.status, row.status);
    if (row.status === 'NOERROR' || row.status === 'NXDOMAIN') t.true(got.flags.includes('aa'), `AA in ${got.flags.join(' ')}`);
    if (row.answer) t.deepEqual([...got.answer].sort(), [...row.answer].sort());
    if (row.authority) t.deepEqual(got.authority, row.authority);
    if (row.additional) t.deepEqual([...got.additional].sort(), [...row.additional].sort());
  });
}

const podModes = [
  { mode: 'verified', name: `172-16-0-10.testns.pod.${Z}`, status: 'NOERROR' },
  { mode: 'verified', name: `172-16-0-99.testns.pod.${Z}`, status: 'NXDOMAIN' },
  { mode: 'disabled', name: `172-16-0-10.testns.pod.${Z}`, status: 'NXDOMAIN' },
];
for (const mode of ['verified', 'disabled']) {
  test(`pod records with --pods ${mode}`, async (t) => {
    const dns = await startFerryDns(t, cluster.url, ['--pods', mode]);
    for (const row of podModes.filter((r) => r.mode === mode)) {
      const got = await dig(dns.port, [row.name, 'A']);
      t.is(got.status, row.status, row.name);
      if (row.status === 'NOERROR') t.deepEqual(got.answer, [`${row.name}. 30 IN A 172.16.0.10`]);
    }
  });
}
