/**
 * `k8s_external` end to end: `ferry dns -conf` with a Corefile holding
 * `kubernetes cluster.local` and `k8s_external example.org { headless }`
 * against a `ferry apiserver`, asked with dig. A Service's external IP and a
 * LoadBalancer's ingress address answer under example.org (A, SRV), a
 * headless Service its endpoints, the apex its SOA and NS, and other names
 * NXDOMAIN with the SOA; the cluster zone answers as before (`ignore
 * empty_service` hiding a Service there only); an AXFR of
 * example.org (the transfer plugin covering it) lists the same records;
 * an external IP added later is answered without a restart.
 */
import test from 'ava';
import { resources } from '../../../src/client/resources.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { clusterIPService, createNamespace, createService, createSlice, dig, slice, startCluster, startFerryDnsConf, waitFor, writeCorefile, type Teardown } from './harness.ts';


const startConf = async (t: Teardown, url: string, corefile: string) => (await startFerryDnsConf(t, writeCorefile(t, corefile), { url })).port;

test('dig: k8s_external answers external IPs, LoadBalancer ingress, headless endpoints, apex, NXDOMAIN and AXFR', async (t) => {
  const c = await startCluster(t);
  await createNamespace(c, 'prod');
  const http = [{ name: 'http', port: 80 }];
  await createService(c, clusterIPService('prod', 'web', http, { clusterIP: '10.96.5.1', externalIPs: ['192.0.2.10'] }));
  await createService(c, clusterIPService('prod', 'lb', http, { type: 'LoadBalancer', clusterIP: '10.96.5.2' }));
  await c.client.patch(resources.services, 'lb', { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } }, 'merge', { namespace: 'prod', subresource: 'status' });
  await createService(c, clusterIPService('prod', 'db', http, { clusterIP: 'None' }));
  await createSlice(c, slice('prod', 'db', 'db-1', [{ addresses: ['10.1.0.5'], hostname: 'db-0', conditions: { ready: true } }], http));
  await createService(c, clusterIPService('prod', 'internal', http, { clusterIP: '10.96.5.3' }));
  const corefile = `.:${await freePort()} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  transfer example.org {\n    to *\n  }\n  kubernetes cluster.local {\n    ignore empty_service\n  }\n  k8s_external example.org {\n    headless\n  }\n}\n`;
  const port = await startConf(t, c.url, corefile);
  const soa = 'example.org. 5 IN SOA ns1.dns.example.org. hostmaster.dns.example.org. S 7200 1800 86400 5';

  await waitFor(async () => (await dig(port, ['lb.prod.example.org', 'A'])).answer.length > 0, 10_000, 'the LoadBalancer ingress');
  const web = await dig(port, ['web.prod.example.org', 'A']);
  t.deepEqual(web.answer, ['web.prod.example.org. 5 IN A 192.0.2.10']);
  t.true(web.flags.includes('aa'));
  t.deepEqual((await dig(port, ['lb.prod.example.org', 'A'])).answer, ['lb.prod.example.org. 5 IN A 198.51.100.7']);
  const srv = await dig(port, ['_http._tcp.web.prod.example.org', 'SRV']);
  t.deepEqual(srv.answer, ['_http._tcp.web.prod.example.org. 5 IN SRV 0 100 80 web.prod.example.org.']);
  t.deepEqual(srv.additional, ['web.prod.example.org. 5 IN A 192.0.2.10']);
  t.deepEqual((await dig(port, ['db.prod.example.org', 'A'])).answer, ['db.prod.example.org. 5 IN A 10.1.0.5']);
  t.deepEqual((await dig(port, ['db-0.db.prod.example.org', 'A'])).answer, ['db-0.db.prod.example.org. 5 IN A 10.1.0.5']);
  t.deepEqual((await dig(port, ['example.org', 'SOA'])).answer, [soa]);
  t.deepEqual((await dig(port, ['example.org', 'NS'])).answer, ['example.org. 5 IN NS ns1.dns.example.org.']);
  // A Service without external addresses has no external name; the cluster zone answers as before (over UDP and TCP).
  const none = await dig(port, ['internal.prod.example.org', 'A']);
  t.is(none.status, 'NXDOMAIN');
  t.deepEqual(none.authority, [soa]);
  t.deepEqual((await dig(port, ['db.prod.svc.cluster.local', 'A'])).answer, ['db.prod.svc.cluster.local. 5 IN A 10.1.0.5']);
  t.deepEqual((await dig(port, ['+tcp', 'db.prod.svc.cluster.local', 'A'])).answer, ['db.prod.svc.cluster.local. 5 IN A 10.1.0.5']);
  // `ignore empty_service` hides web (no endpoints) in the cluster zone only: CoreDNS's External reads the Service index itself.
  t.is((await dig(port, ['web.prod.svc.cluster.local', 'A'])).status, 'NXDOMAIN');

  const axfr = (await dig(port, ['example.org', 'AXFR'])).answer;
  t.is(axfr[0], soa);
  t.is(axfr.at(-1), soa);
  for (const rr of ['web.prod.example.org. 5 IN A 192.0.2.10', 'lb.prod.example.org. 5 IN A 198.51.100.7', 'db-0.db.prod.example.org. 5 IN A 10.1.0.5', '_http._tcp.web.prod.example.org. 5 IN SRV 0 100 80 web.prod.example.org.']) {
    t.true(axfr.includes(rr), rr);
  }
  t.false(axfr.some((rr) => rr.startsWith('internal.')));

  // An external IP added later is answered at once (its own serial; the cluster zone is untouched).
  await c.client.patch(resources.services, 'internal', { spec: { externalIPs: ['192.0.2.20'] } }, 'merge', { namespace: 'prod' });
  await waitFor(async () => (await dig(port, ['internal.prod.example.org', 'A'])).answer.includes('internal.prod.example.org. 5 IN A 192.0.2.20'), 10_000, 'the added external IP');
});
