/**
 * `dig` against `ferry dns`: answers spell the zone as each query did
 * (CoreDNS's TestPreserveCase), also when the answer comes from the
 * prebuilt responses (the batched UDP worker's copy among them): one
 * spelling's answer is never handed to another. And its /metrics shows
 * the API client's requests, as CoreDNS's does.
 */
import test from 'ava';
import { clusterIPService, createNamespace, createService, dig, startCluster, startFerryDns } from './harness.ts';

test('each spelling of the zone gets its own: SRV target, glue and SOA in the query\'s case, over UDP and TCP, asked twice', async (t) => {
  const c = await startCluster(t);
  await createNamespace(c, 'testns');
  await createService(c, clusterIPService('testns', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.100.1' }));
  const dns = await startFerryDns(t, c.url, ['--ttl', '30']);
  for (const zone of ['cluster.local', 'ClUsTeR.lOcAl', 'cluster.local', 'CLUSTER.LOCAL']) {
    for (const proto of [[], ['+tcp']]) {
      for (let i = 0; i < 2; i++) {
        const srv = await dig(dns.port, [...proto, `_http._tcp.web.testns.svc.${zone}`, 'SRV']);
        t.deepEqual(srv.answer, [`_http._tcp.web.testns.svc.${zone}. 30 IN SRV 0 100 80 web.testns.svc.${zone}.`], `${zone} ${proto.join('')} #${i}`);
        t.deepEqual(srv.additional, [`web.testns.svc.${zone}. 30 IN A 10.96.100.1`]);
        const nx = await dig(dns.port, [...proto, `nope.testns.svc.${zone}`, 'A']);
        t.deepEqual(nx.authority, [`${zone}. 30 IN SOA ns.dns.${zone}. hostmaster.${zone}. S 7200 1800 86400 30`]);
      }
    }
  }
});

test('ferry dns /metrics shows its API client\'s requests (coredns_kubernetes_rest_client_*)', async (t) => {
  const c = await startCluster(t);
  const dns = await startFerryDns(t, c.url);
  const text = await (await fetch(`http://${dns.metrics}/metrics`)).text();
  const host = new URL(c.url).host;
  t.regex(text, new RegExp(`coredns_kubernetes_rest_client_requests_total\\{code="200",method="GET",host="${host}"\\} \\d+`));
  t.regex(text, new RegExp(`coredns_kubernetes_rest_client_request_duration_seconds_count\\{verb="GET",host="${host}"\\} \\d+`));
});
