import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { answerZone, type AnswerContext } from '../../../src/dns/answer.ts';
import { DnsHandler, type Client } from '../../../src/dns/handler.ts';
import { inZone } from '../../../src/dns/parse.ts';
import { RCODE } from '../../../src/dns/wire/constants.ts';
import { parseQuery } from '../../../src/dns/wire/query.ts';
import type { PodMode } from '../../../src/dns/lookup.ts';
import type { RecordIndex } from '../../../src/dns/records.ts';
import { buildQuery, checkCase, decode, type DnsCase, type QueryOptions } from './helpers.ts';
import { fixtureIndex, SOA, ZONE } from './fixtures.ts';

const udp: Client = { proto: 'udp', address: '127.0.0.1', family: 4 };
const tcp: Client = { proto: 'tcp', address: '127.0.0.1', family: 4 };

function handler(index: RecordIndex = fixtureIndex(), podMode: PodMode = 'insecure'): DnsHandler {
  return new DnsHandler({ controller: index, zone: ZONE, ttl: 30, podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
}

async function ask(h: DnsHandler, qname: string, qtype: string | number, o: QueryOptions = {}, client: Client = udp) {
  const out = await h.handle(buildQuery(qname, qtype, o), client);
  if (!out) throw new Error('no response');
  return decode(out);
}

const z = ZONE;
const cases: DnsCase[] = [
  // ClusterIP services.
  { qname: `svc1.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`svc1.testns.svc.${z}.\t30\tIN\tA\t10.0.0.1`], ns: [] },
  { name: 'AAAA for an IPv4-only service is NODATA', qname: `svc1.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: `svc6.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`svc6.testns.svc.${z}.\t30\tIN\tAAAA\tfd00::1`] },
  { qname: `svc6.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { qname: `dual.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`dual.testns.svc.${z}.\t30\tIN\tA\t10.0.0.2`] },
  { qname: `dual.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`dual.testns.svc.${z}.\t30\tIN\tAAAA\tfd00::2`] },
  { name: 'mixed case', qname: `SvC1.TestNS.SVC.Cluster.Local.`, qtype: 'A', rcode: 'NOERROR', answer: [`SvC1.TestNS.SVC.Cluster.Local.\t30\tIN\tA\t10.0.0.1`] },
  { name: 'missing service', qname: `nope.testns.svc.${z}.`, qtype: 'A', rcode: 'NXDOMAIN', answer: [], ns: [SOA] },
  { name: 'missing namespace', qname: `svc1.nons.svc.${z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'MX on a service is NODATA', qname: `svc1.testns.svc.${z}.`, qtype: 'MX', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'MX on a missing name is NXDOMAIN', qname: `nope.testns.svc.${z}.`, qtype: 'MX', rcode: 'NXDOMAIN', ns: [SOA] },
  // SRV.
  {
    qname: `_http._tcp.svc1.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR',
    answer: [`_http._tcp.svc1.testns.svc.${z}.\t30\tIN\tSRV\t0 100 80 svc1.testns.svc.${z}.`],
    extra: [`svc1.testns.svc.${z}.\t30\tIN\tA\t10.0.0.1`],
  },
  { qname: `_dns._udp.svc1.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR', answer: [`_dns._udp.svc1.testns.svc.${z}.\t30\tIN\tSRV\t0 100 53 svc1.testns.svc.${z}.`] },
  { name: 'wrong protocol', qname: `_dns._tcp.svc1.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'unnamed port has no SRV', qname: `_http._tcp.unnamed.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NXDOMAIN' },
  { name: 'SRV without port labels lists every port', qname: `unnamed.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR', answer: [`unnamed.testns.svc.${z}.\t30\tIN\tSRV\t0 100 8000 unnamed.testns.svc.${z}.`] },
  {
    name: 'headless SRV targets endpoints', qname: `_http._tcp.hdls1.testns.svc.${z}.`, qtype: 'SRV', rcode: 'NOERROR',
    answer: [`_http._tcp.hdls1.testns.svc.${z}.\t30\tIN\tSRV\t0 50 8080 pod-a.hdls1.testns.svc.${z}.`, `_http._tcp.hdls1.testns.svc.${z}.\t30\tIN\tSRV\t0 50 8080 172-0-0-3.hdls1.testns.svc.${z}.`],
    extra: [`pod-a.hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.2`, `172-0-0-3.hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.3`],
  },
  // Headless.
  { name: 'headless lists ready endpoints', qname: `hdls1.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.2`, `hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.3`] },
  { name: 'endpoint by hostname', qname: `pod-a.hdls1.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`pod-a.hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.2`] },
  { name: 'endpoint by dashed IP', qname: `172-0-0-3.hdls1.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`172-0-0-3.hdls1.testns.svc.${z}.\t30\tIN\tA\t172.0.0.3`] },
  { name: 'not-ready endpoint has no name', qname: `172-0-0-4.hdls1.testns.svc.${z}.`, qtype: 'A', rcode: 'NXDOMAIN' },
  { name: 'endpoint AAAA is NODATA', qname: `pod-a.hdls1.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'headless without ready endpoints is NXDOMAIN', qname: `hdlsempty.testns.svc.${z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'publishNotReadyAddresses', qname: `hdlspub.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`hdlspub.testns.svc.${z}.\t30\tIN\tA\t172.0.0.9`] },
  { qname: `web-0.hdlspub.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`web-0.hdlspub.testns.svc.${z}.\t30\tIN\tA\t172.0.0.9`] },
  { name: 'IPv6 headless', qname: `hdls6.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`hdls6.testns.svc.${z}.\t30\tIN\tAAAA\tfd00::10`] },
  { name: 'IPv6 endpoint name', qname: `fd00--10.hdls6.testns.svc.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`fd00--10.hdls6.testns.svc.${z}.\t30\tIN\tAAAA\tfd00::10`] },
  // ExternalName.
  { name: 'ExternalName outside the zone (no upstream: CNAME only)', qname: `ext.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`ext.testns.svc.${z}.\t30\tIN\tCNAME\text.example.com.`] },
  { name: 'ExternalName CNAME query', qname: `ext.testns.svc.${z}.`, qtype: 'CNAME', rcode: 'NOERROR', answer: [`ext.testns.svc.${z}.\t30\tIN\tCNAME\text.example.com.`] },
  {
    name: 'ExternalName inside the zone is chased', qname: `extin.testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR',
    answer: [`extin.testns.svc.${z}.\t30\tIN\tCNAME\tsvc1.testns.svc.${z}.`, `svc1.testns.svc.${z}.\t30\tIN\tA\t10.0.0.1`],
  },
  // PTR.
  { name: 'PTR of a ClusterIP', qname: '1.0.0.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: [`1.0.0.10.in-addr.arpa.\t30\tIN\tPTR\tsvc1.testns.svc.${z}.`] },
  { name: 'PTR of a headless endpoint', qname: '2.0.0.172.in-addr.arpa.', qtype: 'PTR', rcode: 'NOERROR', answer: [`2.0.0.172.in-addr.arpa.\t30\tIN\tPTR\tpod-a.hdls1.testns.svc.${z}.`] },
  {
    name: 'PTR of an IPv6 ClusterIP', qname: `1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.`, qtype: 'PTR', rcode: 'NOERROR',
    answer: [`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.\t30\tIN\tPTR\tsvc6.testns.svc.${z}.`],
  },
  { name: 'PTR of an unknown address falls through (no upstream: SERVFAIL)', qname: '9.9.9.10.in-addr.arpa.', qtype: 'PTR', rcode: 'SERVFAIL' },
  // Pods (insecure).
  { name: 'pod A record', qname: `172-0-0-7.testns.pod.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [`172-0-0-7.testns.pod.${z}.\t30\tIN\tA\t172.0.0.7`] },
  { name: 'pod name that is not an address', qname: `not-an-ip.testns.pod.${z}.`, qtype: 'A', rcode: 'NXDOMAIN' },
  { name: 'pod in a missing namespace', qname: `172-0-0-7.nons.pod.${z}.`, qtype: 'A', rcode: 'NXDOMAIN' },
  { name: 'IPv6 pod', qname: `fd00--7.testns.pod.${z}.`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`fd00--7.testns.pod.${z}.\t30\tIN\tAAAA\tfd00::7`] },
  // Zone structure.
  { name: 'dns-version', qname: `dns-version.${z}.`, qtype: 'TXT', rcode: 'NOERROR', answer: [`dns-version.${z}.\t28800\tIN\tTXT\t"1.1.0"`] },
  { name: 'svc.<zone> is NODATA', qname: `svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'pod.<zone> is NODATA', qname: `pod.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'namespace name is NODATA', qname: `testns.svc.${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'apex A is NODATA', qname: `${z}.`, qtype: 'A', rcode: 'NOERROR', answer: [], ns: [SOA] },
  { name: 'apex SOA', qname: `${z}.`, qtype: 'SOA', rcode: 'NOERROR', answer: [SOA] },
  { name: 'neither svc nor pod', qname: `foo.testns.bar.${z}.`, qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { name: 'too many labels', qname: `a.b.c.svc1.testns.svc.${z}.`, qtype: 'A', rcode: 'NXDOMAIN' },
  { name: 'AXFR is refused', qname: `${z}.`, qtype: 'AXFR', rcode: 'REFUSED' },
  { name: 'IXFR is refused', qname: `${z}.`, qtype: 'IXFR', rcode: 'REFUSED' },
  { name: 'outside the zone with no upstream', qname: 'example.com.', qtype: 'A', rcode: 'SERVFAIL' },
];

for (const tc of cases) {
  test(`${tc.name ?? `${tc.qname} ${tc.qtype}`}`, async (t) => {
    const h = handler();
    const got = await ask(h, tc.qname, tc.qtype);
    checkCase(t, got, tc);
    if (tc.rcode !== 'SERVFAIL' && tc.rcode !== 'REFUSED') t.true(got.aa, 'AA set');
    t.is(got.qname, tc.qname.replace(/\.$/, ''), 'question keeps the query case');
    // The second ask comes from the prebuilt-response cache and must match.
    const again = await ask(h, tc.qname.toUpperCase(), tc.qtype, { id: 0x4321 });
    t.is(again.id, 0x4321);
    t.is(again.qname, tc.qname.toUpperCase().replace(/\.$/, ''));
    t.is(again.rcode, got.rcode);
    t.is(again.answer.length, got.answer.length);
  });
}

const podModes: Array<{ mode: PodMode; qname: string; rcode: string }> = [
  { mode: 'insecure', qname: `172-0-0-99.testns.pod.${z}.`, rcode: 'NOERROR' },
  { mode: 'verified', qname: `172-0-0-99.testns.pod.${z}.`, rcode: 'NXDOMAIN' },
  { mode: 'verified', qname: `172-0-0-2.testns.pod.${z}.`, rcode: 'NOERROR' },
  { mode: 'verified', qname: `172-0-0-2.default.pod.${z}.`, rcode: 'NXDOMAIN' },
  { mode: 'disabled', qname: `172-0-0-2.testns.pod.${z}.`, rcode: 'NXDOMAIN' },
  { mode: 'disabled', qname: `pod.${z}.`, rcode: 'NOERROR' },
];
for (const pm of podModes) {
  test(`pods ${pm.mode}: ${pm.qname} is ${pm.rcode}`, async (t) => {
    const got = await ask(handler(fixtureIndex(), pm.mode), pm.qname, 'A');
    t.is(got.rcode, pm.rcode);
  });
}

test('before the informers sync, a missing name is SERVFAIL (authoritative, with the SOA), as CoreDNS; then NXDOMAIN', async (t) => {
  const index = fixtureIndex(false);
  const h = handler(index);
  const early = await ask(h, `svc0.testns.svc.${z}`, 'A');
  t.like(early, { rcode: 'SERVFAIL', aa: true, answer: [] });
  t.deepEqual(early.ns, [SOA]);
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A')).rcode, 'NOERROR', 'what is already known is answered');
  index.markSynced();
  t.is((await ask(h, `svc0.testns.svc.${z}`, 'A')).rcode, 'NXDOMAIN');
});

test('a change empties the answer cache', async (t) => {
  const index = fixtureIndex();
  const h = handler(index);
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A')).answer.length, 1);
  index.deleteService('testns', 'svc1');
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A')).rcode, 'NXDOMAIN');
});

test('EDNS: the OPT record is echoed with the payload size honoured', async (t) => {
  const h = handler();
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A', { edns: 1232 })).edns, 1232);
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A', { edns: 100 })).edns, 512);
  t.is((await ask(h, `svc1.testns.svc.${z}`, 'A')).edns, undefined);
});

test('EDNS version 1 is BADVERS', async (t) => {
  const q = buildQuery(`svc1.testns.svc.${z}`, 'A', { edns: 1232 });
  q[q.length - 5] = 1; // OPT TTL: extended rcode 0, version 1
  const out = handler().handle(q, udp) as Buffer;
  t.is(out[3]! & 0xf, 0);
  t.is(out[out.length - 6], 1, 'extended rcode 1 (BADVERS = 16)');
});

test('a large headless answer is truncated to whole records over UDP, complete over TCP', async (t) => {
  const h = handler(fixtureIndex(true, 200));
  const small = await ask(h, `big.testns.svc.${z}`, 'A');
  t.true(small.tc);
  t.true(small.answer.length > 10 && small.answer.length < 200, `${small.answer.length} records`);
  const viaEdns = await ask(h, `big.testns.svc.${z}`, 'A', { edns: 4096 });
  t.false(viaEdns.tc);
  t.is(viaEdns.answer.length, 200);
  const viaTcp = await ask(h, `big.testns.svc.${z}`, 'A', {}, tcp);
  t.false(viaTcp.tc);
  t.is(viaTcp.answer.length, 200);
});

const malformed: Array<{ name: string; packet: Buffer; rcode: number | undefined }> = [
  { name: 'shorter than a header', packet: Buffer.from([1, 2, 3]), rcode: undefined },
  { name: 'no question', packet: Buffer.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), rcode: 1 },
  { name: 'two questions', packet: (() => { const b = buildQuery('a.b', 'A'); b.writeUInt16BE(2, 4); return b; })(), rcode: 1 },
  { name: 'name runs off the end', packet: buildQuery('abc.def', 'A').subarray(0, 15), rcode: 1 },
  { name: 'pointer loop', packet: Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]), rcode: 1 },
  { name: 'a response', packet: (() => { const b = buildQuery('a.b', 'A'); b[2] = 0x80; return b; })(), rcode: 1 },
  { name: 'unknown opcode', packet: (() => { const b = buildQuery('a.b', 'A'); b[2] = 0x10; return b; })(), rcode: 4 },
];
for (const m of malformed) {
  test(`malformed: ${m.name}`, (t) => {
    const out = handler().handle(m.packet, udp) as Buffer | undefined;
    if (m.rcode === undefined) return t.is(out, undefined);
    t.truthy(out);
    t.is(out![3]! & 0xf, m.rcode);
    t.is(out!.readUInt16BE(0), m.packet.readUInt16BE(0));
  });
}

test('answerZone builds no NXDOMAIN for a name that falls through (undefined: passed on); found names and NODATA are answered alike', (t) => {
  const ctx: AnswerContext = { controller: fixtureIndex(), zone: z, ttl: 30, podMode: 'insecure', localIPs: [] };
  const q = (name: string, qtype: string) => parseQuery(buildQuery(name, qtype));
  const rcode = (a: ReturnType<typeof answerZone>) => (a ? a.message.flags & 0xf : undefined);
  const reverse = (name: string) => inZone(name, 'in-addr.arpa');
  t.is(answerZone(q('9.9.0.10.in-addr.arpa', 'PTR'), 'in-addr.arpa', ctx, false, reverse), undefined, 'an unknown address in a fallthrough reverse zone');
  t.is(rcode(answerZone(q('9.9.0.10.in-addr.arpa', 'PTR'), 'in-addr.arpa', ctx)), RCODE.NXDOMAIN, 'without fallthrough: NXDOMAIN');
  t.deepEqual(answerZone(q('1.0.0.10.in-addr.arpa', 'PTR'), 'in-addr.arpa', ctx, false, reverse)?.message.answer.map((rr) => rr.type === 12 && rr.target), [`svc1.testns.svc.${z}`]);
  t.is(rcode(answerZone(q(`nope.testns.svc.${z}`, 'A'), z, ctx, false, reverse)), RCODE.NXDOMAIN, 'a zone fallthrough does not cover');
  const all = () => true;
  t.is(answerZone(q(`nope.testns.svc.${z}`, 'A'), z, ctx, false, all), undefined);
  t.is(rcode(answerZone(q(`svc1.testns.svc.${z}`, 'AAAA'), z, ctx, false, all)), RCODE.NOERROR, 'NODATA never falls through');
});
