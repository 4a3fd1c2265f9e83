import test from 'ava';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { checkCase, type DnsCase } from '../helpers.ts';
import { ask, coreDnsIndex, SOA } from './fixture.ts';

// CoreDNS's TestServeDNSEmptyService (plugin/kubernetes/
// handler_ignore_emptyservice_test.go, source in fixture.ts): with
// `kubernetes { ignore empty_service }` a ClusterIP Service without a ready
// endpoint is NXDOMAIN; an ExternalName (and a headless Service) is not
// affected.

const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;

function emptyServiceScope() {
  const [config] = loadCorefile('cluster.local {\n  kubernetes {\n    ignore empty_service\n  }\n}\n');
  return config!.kubernetes!;
}

const dnsEmptyServiceTestCases: DnsCase[] = [
  { name: 'A Service', qname: 'svcempty.testns.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'CNAME to external', qname: 'external.testns.svc.cluster.local.', qtype: 'CNAME', rcode: 'NOERROR', answer: [rr('external.testns.svc.cluster.local.', 'CNAME', 'ext.interwebs.test.')] },
];

for (const tc of dnsEmptyServiceTestCases) {
  test(`TestServeDNSEmptyService: ${tc.name}`, async (t) => {
    checkCase(t, await ask(scopedController(coreDnsIndex(), emptyServiceScope()), tc.qname, tc.qtype), tc);
  });
}

test('ignore empty_service: a Service with a ready endpoint still answers, its SRV too; without the option the empty one answers', async (t) => {
  const scoped = scopedController(coreDnsIndex(), emptyServiceScope());
  checkCase(t, await ask(scoped, 'svc1.testns.svc.cluster.local.', 'A'), { qname: '', qtype: 'A', rcode: 'NOERROR', answer: [rr('svc1.testns.svc.cluster.local.', 'A', '10.0.0.1')] });
  checkCase(t, await ask(scoped, '_http._tcp.svcempty.testns.svc.cluster.local.', 'SRV'), { qname: '', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [SOA] });
  checkCase(t, await ask(scoped, 'hdls1.testns.svc.cluster.local.', 'A'), { qname: '', qtype: 'A', rcode: 'NOERROR' });
  checkCase(t, await ask(coreDnsIndex(), 'svcempty.testns.svc.cluster.local.', 'A'), { qname: '', qtype: 'A', rcode: 'NOERROR', answer: [rr('svcempty.testns.svc.cluster.local.', 'A', '10.0.0.1')] });
});

test('ignore takes empty_service only (CoreDNS setup.go)', (t) => {
  t.throws(() => loadCorefile('cluster.local {\n  kubernetes {\n    ignore empty_services\n  }\n}\n'), { message: /unable to parse ignore value: "empty_services"/ });
});
