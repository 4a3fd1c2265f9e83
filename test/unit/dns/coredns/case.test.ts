import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import { buildQuery, checkCase, decode, type DnsCase } from '../helpers.ts';
import { ask, coreDnsIndex } from './fixture.ts';

// CoreDNS's TestPreserveCase (plugin/kubernetes/handler_case_test.go, source
// in fixture.ts): the names of an answer spell the zone as the query did,
// the Service's own labels as the cluster does. Upstream runs it with
// `ignore empty_service` on; every Service asked here has endpoints.

const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;
const soa = (zone: string) => rr(zone, 'SOA', `ns.dns.${zone} hostmaster.${zone} 7200 1800 86400 5`);
const scope = { namespaces: [], noEndpoints: false, endpointPodNames: false, ignoreEmptyService: true };

const dnsPreserveCaseCases: DnsCase[] = [
  { name: 'Negative response', qname: 'not-a-service.testns.svc.ClUsTeR.lOcAl.', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa('ClUsTeR.lOcAl.')] },
  { name: 'A Service', qname: 'SvC1.TeStNs.SvC.cLuStEr.LoCaL.', qtype: 'A', rcode: 'NOERROR', answer: [rr('SvC1.TeStNs.SvC.cLuStEr.LoCaL.', 'A', '10.0.0.1')] },
  {
    name: 'SRV Service', qname: '_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.', qtype: 'SRV', rcode: 'NOERROR',
    answer: [rr('_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.', 'SRV', '0 100 80 svc1.testns.svc.cLuStEr.LoCaL.')],
    extra: [rr('svc1.testns.svc.cLuStEr.LoCaL.', 'A', '10.0.0.1')],
  },
  { name: 'apex SOA', qname: 'Cluster.local.', qtype: 'SOA', rcode: 'NOERROR', answer: [soa('Cluster.local.')] },
];

for (const tc of dnsPreserveCaseCases) {
  test(`TestPreserveCase: ${tc.name}`, async (t) => {
    checkCase(t, await ask(scopedController(coreDnsIndex(), scope), tc.qname, tc.qtype), tc);
  });
}

test('a prebuilt answer for one spelling is not served to another', async (t) => {
  const h = new DnsHandler({
    controller: coreDnsIndex(), zone: 'cluster.local', ttl: 5, podMode: 'disabled', forwarder: undefined,
    acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined,
  });
  const client = { proto: 'udp' as const, address: '127.0.0.1', family: 4 as const };
  const srv = async (qname: string) => decode((await h.handle(buildQuery(qname, 'SRV'), client))!);
  t.deepEqual((await srv('_http._tcp.svc1.testns.svc.cluster.local.')).answer, [rr('_http._tcp.svc1.testns.svc.cluster.local.', 'SRV', '0 100 80 svc1.testns.svc.cluster.local.')]);
  const mixed = await srv('_http._tcp.svc1.testns.svc.CLUSTER.local.');
  t.deepEqual(mixed.answer, [rr('_http._tcp.svc1.testns.svc.CLUSTER.local.', 'SRV', '0 100 80 svc1.testns.svc.CLUSTER.local.')]);
  t.deepEqual(mixed.extra, [rr('svc1.testns.svc.CLUSTER.local.', 'A', '10.0.0.1')]);
  // Asked again, from the cache: still its own spelling.
  t.deepEqual((await srv('_http._tcp.svc1.testns.svc.CLUSTER.local.')).answer, mixed.answer);
});
