import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { handlerZones } from '../../../../src/dns/corefile/kubernetes.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import { ZoneTransfer } from '../../../../src/dns/transfer.ts';
import { buildQuery, checkCase, decode } from '../helpers.ts';
import { coreDnsIndex } from './fixture.ts';

// `kubernetes coredns.local test.local`: CoreDNS answers every zone of the
// plugin alike (TestKubernetesParse's rows with two zones, setup_test.go,
// coredns/coredns@4b26cced3). Ferry serves the cluster under each zone given,
// each with its own SOA and apex, and transfers each.

const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;
const soa = (zone: string) => rr(zone, 'SOA', `ns.dns.${zone} hostmaster.${zone} 7200 1800 86400 5`);

function setup(options = '') {
  const k = loadCorefile(`.:53 {\n  kubernetes coredns.local test.local {\n${options}\n  }\n}\n`)[0]!.kubernetes!;
  const index = coreDnsIndex({ namespaces: ['testns', 'demo'] });
  const h = new DnsHandler({ controller: scopedController(index, k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  const ask = async (qname: string, qtype: string) => decode((await h.handle(buildQuery(qname, qtype), { proto: 'tcp', address: '127.0.0.1', family: 4 }))!);
  return { k, index, ask };
}

test('TestKubernetesParse: two zones, with options', (t) => {
  t.like(setup().k, { zone: 'coredns.local', otherZones: ['test.local'] });
  const { k } = setup('    endpoint http://localhost:8080\n    namespaces demo test\n    labels environment in (production, staging, qa),application=nginx');
  t.like(k, { zone: 'coredns.local', otherZones: ['test.local'], namespaces: ['demo', 'test'], endpoint: 'http://localhost:8080', labels: 'application=nginx,environment in (production,qa,staging)' });
});

test('each zone answers the same records, with its own SOA', async (t) => {
  const { ask } = setup();
  for (const zone of ['coredns.local', 'test.local']) {
    checkCase(t, await ask(`svc1.testns.svc.${zone}.`, 'A'), { qname: '', qtype: 'A', rcode: 'NOERROR', answer: [rr(`svc1.testns.svc.${zone}.`, 'A', '10.0.0.1')] });
    checkCase(t, await ask(`_http._tcp.svc1.testns.svc.${zone}.`, 'SRV'), { qname: '', qtype: 'SRV', rcode: 'NOERROR', answer: [rr(`_http._tcp.svc1.testns.svc.${zone}.`, 'SRV', `0 100 80 svc1.testns.svc.${zone}.`)] });
    checkCase(t, await ask(`nope.testns.svc.${zone}.`, 'A'), { qname: '', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa(`${zone}.`)] });
    checkCase(t, await ask(`${zone}.`, 'SOA'), { qname: '', qtype: 'SOA', rcode: 'NOERROR', answer: [soa(`${zone}.`)] });
  }
});

test('each zone is transferred', (t) => {
  const { k, index } = setup();
  const xfr = new ZoneTransfer({ zones: ['.'], to: ['*'] }, { controller: scopedController(index, k), zone: k.zone, ttl: 5, podMode: 'disabled', localIPs: [] }, [], k.otherZones);
  const records = [...xfr.messages(buildQuery('test.local.', 'AXFR'), { proto: 'tcp', address: '127.0.0.1', family: 4 })!].flatMap((m) => decode(m).answer);
  t.is(records[0], soa('test.local.'));
  t.true(records.includes(rr('svc1.testns.svc.test.local.', 'A', '10.0.0.1')));
  t.is(records.at(-1), soa('test.local.'));
});
