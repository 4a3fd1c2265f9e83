import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { PluginChain } from '../../../src/dns/corefile/chain.ts';
import { handlerZones } from '../../../src/dns/corefile/kubernetes.ts';
import { loadCorefile } from '../../../src/dns/corefile/runner.ts';
import { scopedController } from '../../../src/dns/corefile/scoped-controller.ts';
import { DnsHandler, type Client } from '../../../src/dns/handler.ts';
import { COMMON_LOG_FORMAT, parseLogFormat } from '../../../src/dns/log-format.ts';
import { fixtureIndex, ZONE } from './fixtures.ts';
import { buildQuery, type QueryOptions } from './helpers.ts';

// The `log` plugin's formats, placeholders and class filters (CoreDNS
// plugin/log README and setup.go, plugin/pkg/replacer), through a block's
// plugin chain over the fixture cluster (fixtures.ts).

const udp: Client = { proto: 'udp', address: '127.0.0.1', family: 4, port: 40000 };

/** logLines runs queries through the chain the Corefile builds and returns the lines `log` wrote. */
async function logLines(corefile: string, queries: Array<[string, string, Client?, QueryOptions?]>): Promise<string[]> {
  const [c] = loadCorefile(corefile);
  const k = c!.kubernetes!;
  const inner = new DnsHandler({ controller: scopedController(fixtureIndex(), k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  const chain = new PluginChain(inner, c!);
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (lines.push(s.replace(/^I\d{4} [\d:.]+ dns\] /, '').trimEnd()), true)) as typeof process.stderr.write;
  try {
    for (const [name, type, client, o] of queries) await chain.handle(buildQuery(name, type, o), client ?? udp);
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

const block = (log: string) => `.:53 {\n  kubernetes ${ZONE}\n  ${log}\n}\n`;
const svc1 = `svc1.testns.svc.${ZONE}`;

test.serial("plain `log` writes CoreDNS's common log format", async (t) => {
  const query = buildQuery(svc1, 'A');
  const [line, edns, tcp, v6] = await logLines(block('log'), [
    [svc1, 'A'], [svc1, 'A', udp, { edns: 1232, id: 7 }], [svc1, 'A', { ...udp, proto: 'tcp' }], [svc1, 'A', { proto: 'udp', address: '::1', family: 6, port: 5353 }],
  ]);
  const m = /^127\.0\.0\.1:40000 - 4660 "A IN svc1\.testns\.svc\.cluster\.local\. udp (\d+) false 512" NOERROR (qr,aa,rd) (\d+) (\d+\.\d+)s$/.exec(line!);
  t.truthy(m, line);
  t.is(Number(m![1]), query.length, '{size} is the query in bytes');
  t.true(Number(m![3]) > query.length, '{rsize} is the response in bytes');
  t.regex(edns!, / - 7 "A IN svc1\.testns\.svc\.cluster\.local\. udp \d+ false 1232" NOERROR /, '{>bufsize} is the EDNS0 size');
  t.regex(tcp!, / tcp \d+ false 65535" NOERROR /, 'over TCP {>bufsize} is 65535');
  t.true(v6!.startsWith('[::1]:5353 - 4660 "A IN '), '{remote} brackets an IPv6 address');
});

test.serial('{combined} adds the opcode; other placeholders and unknown braces', async (t) => {
  const [combined] = await logLines(block('log . {combined}'), [[svc1, 'A']]);
  t.regex(combined!, /^127\.0\.0\.1:40000 - 4660 "A IN .* NOERROR qr,aa,rd \d+ \d+\.\d+s "0"$/);
  const [custom] = await logLines(block('log . "{proto} Request: {name} {type} {>id} {class} {local} {unknown} {{rcode}}"'), [[`nothere.testns.svc.${ZONE}`, 'SRV']]);
  t.is(custom, `udp Request: nothere.testns.svc.${ZONE}. SRV 4660 IN - {unknown} {NXDOMAIN}`);
});

test.serial('class filters: only the classes listed are logged; names scope the rules, each with its format', async (t) => {
  const queries: Array<[string, string]> = [[svc1, 'A'], [`nothere.testns.svc.${ZONE}`, 'A'], [svc1, 'TXT'], ['example.org', 'A']];
  const denial = await logLines(block('log . "{name} {rcode}" {\n    class denial\n  }'), queries);
  t.deepEqual(denial, [`nothere.testns.svc.${ZONE}. NXDOMAIN`, `svc1.testns.svc.${ZONE}. NOERROR`], 'NXDOMAIN and NODATA are denials');
  const errorsAndSuccess = await logLines(block('log . "{name} {rcode}" {\n    class error\n    class success\n  }'), queries);
  t.deepEqual(errorsAndSuccess, [`svc1.testns.svc.${ZONE}. NOERROR`, 'example.org. SERVFAIL'], 'no upstream: SERVFAIL, an error');
  const scoped = await logLines(block('log example.org "other {name}"\n  log testns.svc.cluster.local'), queries);
  t.is(scoped.length, 4);
  t.is(scoped[3], 'other example.org.');
  t.regex(scoped[0]!, /^127\.0\.0\.1:40000 - 4660 "A IN svc1/);
  const none = await logLines(block('log example.org'), [[svc1, 'A']]);
  t.deepEqual(none, [], 'a name outside every rule is not logged');
});

test('the replacer splits a format as CoreDNS: placeholders, {/labels}, and literal text kept as written', (t) => {
  t.deepEqual(parseLogFormat('{a{type}} x {/kubernetes/client-namespace}'), [
    { kind: 'literal', value: '{a' }, { kind: 'label', value: '{type}' }, { kind: 'literal', value: '} x ' }, { kind: 'metadata', value: 'kubernetes/client-namespace' },
  ]);
  t.is(parseLogFormat(COMMON_LOG_FORMAT).filter((n) => n.kind === 'label').length, 14);
});

test('log and metadata settings: errors as CoreDNS', (t) => {
  t.throws(() => loadCorefile(block('log {\n    class bogus\n  }')), { message: /plugin\/log: invalid Class: bogus/ });
  t.throws(() => loadCorefile(block('log {\n    format x\n  }')), { message: /plugin\/log: unknown property 'format'/ });
  t.throws(() => loadCorefile(block('log {\n    class\n  }')), { message: /Wrong argument count/ });
  t.throws(() => loadCorefile(block('metadata {\n    some_param\n  }')), { message: /plugin\/metadata/ });
  t.throws(() => loadCorefile(block('metadata\n  metadata')), { message: /only be used once/ });
  const [c] = loadCorefile(block('metadata example.com. NET\n  log . {common} {\n    class denial all\n  }\n  log a.org b.org "{name}"'));
  t.deepEqual(c!.metadata, { zones: ['example.com.', 'net.'] });
  t.deepEqual(c!.logRules.map((r) => [r.nameScope, r.classes]), [['.', []], ['a.org.', []], ['b.org.', []]], '`all` among the classes logs everything');
  t.deepEqual(loadCorefile(block('metadata'))[0]!.metadata, { zones: ['.'] }, 'the server block zones by default');
});
