import test from 'ava';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import { PluginChain } from '../../../../src/dns/corefile/chain.ts';
import { handlerZones } from '../../../../src/dns/corefile/kubernetes.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { DnsHandler, type Client } from '../../../../src/dns/handler.ts';
import { ClientPods, kubernetesMetadata, type Metadata } from '../../../../src/dns/metadata.ts';
import { fixtureIndex, ZONE } from '../fixtures.ts';
import { buildQuery } from '../helpers.ts';
import { SOURCE } from './fixture.ts';

/*
 * CoreDNS's plugin/kubernetes/metadata_test.go (TestMetadata,
 * TestMetadataPodsVerified), SOURCE: the labels the kubernetes plugin gives
 * the metadata plugin for a question and a client address. Every row is
 * ported. Upstream's test.ResponseWriter answers 10.240.0.1 when a row sets
 * no RemoteIP; APIConnServeTest's pod at that address is podns/foo with
 * labels app.kubernetes.io/name=foo and bar=baz.
 */

const fooPod: Pod = {
  metadata: { namespace: 'podns', name: 'foo', labels: { 'app.kubernetes.io/name': 'foo', bar: 'baz' } },
  status: { podIP: '10.240.0.1' },
};

const parts = (kind: string, namespace: string, service: string, o: { endpoint?: string; port?: string; protocol?: string } = {}) => ({
  'kubernetes/endpoint': o.endpoint ?? '', 'kubernetes/kind': kind, 'kubernetes/namespace': namespace,
  'kubernetes/port-name': o.port ?? '', 'kubernetes/protocol': o.protocol ?? '', 'kubernetes/service': service,
});

// TestMetadata: New(cluster.local., clusterset.local.) with clusterset.local. a multicluster zone, pods disabled.
const METADATA_CASES: Array<{ qname: string; remote?: string; md: Record<string, string> }> = [
  { qname: 'foo.bar.notapod.cluster.local', md: { 'kubernetes/parse-error': 'invalid query name' } },
  { qname: '10-240-0-1.podns.pod.cluster.local', md: parts('pod', 'podns', '10-240-0-1') },
  { qname: 's.ns.svc.cluster.local', md: parts('svc', 'ns', 's') },
  { qname: 's.ns.svc.cluster.local', remote: '10.10.10.10', md: parts('svc', 'ns', 's') },
  { qname: '_http._tcp.s.ns.svc.cluster.local', remote: '10.10.10.10', md: parts('svc', 'ns', 's', { port: 'http', protocol: 'tcp' }) },
  { qname: 'ep.s.ns.svc.cluster.local', remote: '10.10.10.10', md: parts('svc', 'ns', 's', { endpoint: 'ep' }) },
  { qname: 'ep.c1.s.ns.svc.clusterset.local', remote: '10.10.10.10', md: { 'kubernetes/cluster': 'c1', ...parts('svc', 'ns', 's', { endpoint: 'ep' }) } },
  { qname: 'example.com', remote: '10.10.10.10', md: {} },
];

const asObject = (md: Metadata) => Object.fromEntries([...md].sort(([a], [b]) => (a < b ? -1 : 1)));

for (const [i, c] of METADATA_CASES.entries()) {
  test(`${SOURCE} TestMetadata case ${i}: ${c.qname} from ${c.remote ?? '10.240.0.1'}`, (t) => {
    const pods = new ClientPods();
    pods.update(undefined, fooPod);
    const md: Metadata = new Map();
    // Pods disabled: CoreDNS's podWithIP looks no client up, so the pod at 10.240.0.1 adds nothing.
    kubernetesMetadata(md, c.qname, c.remote ?? '10.240.0.1', { zones: ['cluster.local', 'clusterset.local'], multiclusterZones: ['clusterset.local'], zonal: false, clientPods: undefined });
    t.deepEqual(asObject(md), asObject(new Map(Object.entries(c.md))));
  });
}

test('TestMetadataPodsVerified: the client pod of 10.240.0.1 gives its namespace, name and labels', (t) => {
  const pods = new ClientPods();
  pods.update(undefined, fooPod);
  const md: Metadata = new Map();
  kubernetesMetadata(md, 'example.com', '10.240.0.1', { zones: ['cluster.local'], multiclusterZones: [], zonal: false, clientPods: pods });
  t.deepEqual(asObject(md), {
    'kubernetes/client-label/app.kubernetes.io/name': 'foo', 'kubernetes/client-label/bar': 'baz',
    'kubernetes/client-namespace': 'podns', 'kubernetes/client-pod-name': 'foo',
  });
});

test('ClientPods follows the pod informer: a deleted pod and an address that moved to another pod', (t) => {
  const pods = new ClientPods();
  pods.update(undefined, fooPod);
  const moved: Pod = { metadata: { namespace: 'other', name: 'bar' }, status: { podIPs: [{ ip: '10.240.0.1' }, { ip: 'fd00::1' }] } };
  pods.update(undefined, moved);
  t.is(pods.get('10.240.0.1')?.name, 'foo', 'the first pod holding an address keeps it');
  t.is(pods.get('fd00::1')?.name, 'bar');
  pods.update(fooPod, undefined);
  t.is(pods.get('10.240.0.1'), undefined);
  pods.update(undefined, moved);
  t.is(pods.get('10.240.0.1')?.namespace, 'other');
});

/** logLines runs queries through a block's chain as the runner builds it and returns the `log` lines it wrote. */
async function logLines(corefile: string, pods: ClientPods, queries: Array<[string, string, Client]>): Promise<string[]> {
  const [c] = loadCorefile(corefile);
  const k = c!.kubernetes!;
  const inner = new DnsHandler({ controller: scopedController(fixtureIndex(), k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  const chain = new PluginChain(inner, c!, { clientPods: pods });
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (lines.push(s.replace(/^I\d{4} [\d:.]+ dns\] /, '').trimEnd()), true)) as typeof process.stderr.write;
  try {
    for (const [name, type, client] of queries) await chain.handle(buildQuery(name, type), client);
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

const from = (address: string): Client => ({ proto: 'udp', address, family: 4, port: 40000 });

test.serial('metadata + log: {/kubernetes/...} placeholders name the client pod and the parts of the name; unset labels print -', async (t) => {
  const pods = new ClientPods();
  pods.update(undefined, { metadata: { namespace: 'testns', name: 'client-a' }, status: { podIP: '172.0.0.2' } });
  const corefile = `.:53 {\n  metadata\n  kubernetes ${ZONE} {\n    pods verified\n  }\n  log . "{/kubernetes/client-namespace}/{/kubernetes/client-pod-name} {type} {name} {/kubernetes/service}.{/kubernetes/namespace} {/kubernetes/kind} {/log/class} {/log/type} {rcode}"\n}\n`;
  const lines = await logLines(corefile, pods, [
    [`svc1.testns.svc.${ZONE}`, 'A', from('172.0.0.2')],
    [`nothere.testns.svc.${ZONE}`, 'A', from('10.9.9.9')],
    ['example.org', 'A', from('172.0.0.2')],
  ]);
  t.deepEqual(lines, [
    `testns/client-a A svc1.testns.svc.${ZONE}. svc1.testns svc success NOERROR NOERROR`,
    `-/- A nothere.testns.svc.${ZONE}. nothere.testns svc denial NXDOMAIN NXDOMAIN`,
    'testns/client-a A example.org. -.- - error OTHERERROR REFUSED',
  ]);
});

test.serial('without metadata, {/label} placeholders print -; metadata ZONES limits what is collected', async (t) => {
  const pods = new ClientPods();
  pods.update(undefined, { metadata: { namespace: 'testns', name: 'client-a' }, status: { podIP: '172.0.0.2' } });
  const format = '"{/kubernetes/client-namespace} {/kubernetes/service} {name}"';
  const without = await logLines(`.:53 {\n  kubernetes ${ZONE} {\n    pods verified\n  }\n  log . ${format}\n}\n`, pods, [[`svc1.testns.svc.${ZONE}`, 'A', from('172.0.0.2')]]);
  t.deepEqual(without, [`- - svc1.testns.svc.${ZONE}.`]);
  const scoped = await logLines(`.:53 {\n  metadata example.org\n  kubernetes ${ZONE} {\n    pods verified\n  }\n  log . ${format}\n}\n`, pods, [
    [`svc1.testns.svc.${ZONE}`, 'A', from('172.0.0.2')],
  ]);
  t.deepEqual(scoped, [`- - svc1.testns.svc.${ZONE}.`], 'a name outside the metadata zones gets none');
  const insecure = await logLines(`.:53 {\n  metadata\n  kubernetes ${ZONE} {\n    pods insecure\n  }\n  log . ${format}\n}\n`, pods, [[`svc1.testns.svc.${ZONE}`, 'A', from('172.0.0.2')]]);
  t.deepEqual(insecure, [`- svc1 svc1.testns.svc.${ZONE}.`], 'only pods verified looks the client up (CoreDNS podWithIP)');
});
