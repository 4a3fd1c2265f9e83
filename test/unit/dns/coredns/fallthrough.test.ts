import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { Forwarder } from '../../../../src/dns/forward.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import { fakeUpstream } from '../fake-upstream.ts';
import { buildQuery, checkCase, decode } from '../helpers.ts';
import { coreDnsIndex, SOA } from './fixture.ts';

// `kubernetes { fallthrough [ZONES] }` for the cluster zone (CoreDNS's
// Fall.Through in ServeDNS): a name the cluster does not have goes on to the
// next plugin, here the upstream; found names and NODATA stay the cluster's.
// Before the informers sync, it falls through rather than SERVFAIL, as
// CoreDNS checks fallthrough first. TestKubernetesParse's fallthrough row is here too.

const UPSTREAM_ADDRESS = '192.0.2.1';

async function handler(t: { teardown(fn: () => void): void }, fallthrough: string[] | undefined, synced = true) {
  const u = await fakeUpstream(t, 30);
  const forwarder = new Forwarder({ upstreams: [{ address: '127.0.0.1', port: u.port }], timeoutMs: 1000, cacheSize: 0 });
  t.teardown(() => forwarder.close());
  const h = new DnsHandler({
    controller: coreDnsIndex({ synced }), zone: 'cluster.local', ttl: 5, podMode: 'disabled', forwarder, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined,
    ...(fallthrough ? { fallthrough } : {}),
  });
  const ask = async (qname: string, qtype = 'A') => decode((await h.handle(buildQuery(qname, qtype), { proto: 'udp', address: '127.0.0.1', family: 4 }))!);
  return { ask, queries: () => u.queries };
}

test('fallthrough (every zone): a missing cluster name is the upstream\'s answer, twice (never cached as NXDOMAIN)', async (t) => {
  const { ask, queries } = await handler(t, ['.']);
  for (let i = 0; i < 2; i++) t.deepEqual((await ask('nope.testns.svc.cluster.local.')).answer, [`nope.testns.svc.cluster.local.\t30\tIN\tA\t${UPSTREAM_ADDRESS}`]);
  t.is(queries(), 2);
  checkCase(t, await ask('svc1.testns.svc.cluster.local.'), { qname: '', qtype: 'A', rcode: 'NOERROR', answer: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] });
  checkCase(t, await ask('svc1.testns.svc.cluster.local.', 'AAAA'), { qname: '', qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] });
  t.is(queries(), 2, 'found names and NODATA are the cluster\'s');
});

test('fallthrough ZONES: only names inside them fall through', async (t) => {
  const { ask, queries } = await handler(t, ['testns.svc.cluster.local']);
  t.is((await ask('nope.testns.svc.cluster.local.')).rcode, 'NOERROR');
  checkCase(t, await ask('nope.other.svc.cluster.local.'), { qname: '', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] });
  t.is(queries(), 1);
});

test('without fallthrough a missing name is NXDOMAIN; before the sync fallthrough still goes upstream', async (t) => {
  const plain = await handler(t, undefined);
  checkCase(t, await plain.ask('nope.testns.svc.cluster.local.'), { qname: '', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] });
  t.is(plain.queries(), 0);
  const early = await handler(t, ['.'], false);
  t.is((await early.ask('nope.testns.svc.cluster.local.')).rcode, 'NOERROR');
});

test('TestKubernetesParse: fallthrough with zones; without zones it is every zone', (t) => {
  const kube = (option: string) => loadCorefile(`coredns.local {\n  kubernetes coredns.local {\n    ${option}\n  }\n}\n`)[0]!.kubernetes!;
  t.deepEqual(kube('fallthrough ip6.arpa inaddr.arpa foo.com').fallthrough, ['ip6.arpa.', 'inaddr.arpa.', 'foo.com.']);
  t.deepEqual(kube('fallthrough').fallthrough, ['.']);
});
