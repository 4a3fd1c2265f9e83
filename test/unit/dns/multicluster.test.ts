import test from 'ava';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { DnsHandler } from '../../../src/dns/handler.ts';
import { handlerZones } from '../../../src/dns/corefile/kubernetes.ts';
import { loadCorefile } from '../../../src/dns/corefile/runner.ts';
import { scopedController } from '../../../src/dns/corefile/scoped-controller.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, toDnsServiceImport, toMcEndpointSlice } from '../../../src/dns/multicluster.ts';
import { toDnsService } from '../../../src/dns/object.ts';
import { RecordIndex } from '../../../src/dns/records.ts';
import { buildQuery, decode } from './helpers.ts';

// `kubernetes cluster.local clusterset.local { multicluster clusterset.local }`,
// the README's example (coredns/coredns@4b26cced3 plugin/kubernetes/README.md):
// the cluster zone answers from Services, the clusterset zone from ServiceImports.

const COREFILE = '.:53 {\n  kubernetes cluster.local clusterset.local {\n    multicluster clusterset.local\n    namespaces testns\n  }\n}\n';
const rr = (name: string, type: string, data: string) => `${name}\t5\tIN\t${type}\t${data}`;
const http = [{ name: 'http', protocol: 'TCP', port: 80 }];

function index(o: { importsSynced?: boolean } = {}): RecordIndex {
  const idx = new RecordIndex({ watchNamespaces: true });
  for (const ns of ['testns', 'otherns']) idx.setNamespace(ns);
  idx.setService(toDnsService({ metadata: { namespace: 'testns', name: 'web' }, spec: { clusterIP: '10.96.0.5', ports: http } }));
  const mc = idx.multicluster;
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'web' }, spec: { type: 'ClusterSetIP', ips: ['10.200.0.5'], ports: http } }));
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'portless' }, spec: { type: 'ClusterSetIP', ips: ['10.200.0.6'] } }));
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'db' }, spec: { type: 'Headless', ports: http } }));
  mc.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'otherns', name: 'web' }, spec: { type: 'ClusterSetIP', ips: ['10.200.0.7'], ports: http } }));
  mc.setEndpointSlice(toMcEndpointSlice({
    metadata: { namespace: 'testns', name: 'db-east', labels: { [LABEL_SERVICE_NAME]: 'db', [LABEL_SOURCE_CLUSTER]: 'east' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['172.16.1.10'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['172.16.1.11'], conditions: { ready: false } }],
    ports: http,
  })!);
  mc.setEndpointSlice(toMcEndpointSlice({
    metadata: { namespace: 'testns', name: 'db-west', labels: { [LABEL_SERVICE_NAME]: 'db', [LABEL_SOURCE_CLUSTER]: 'west' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['172.16.2.10'], hostname: 'db-0' }], ports: http,
  })!);
  idx.markSynced();
  if (o.importsSynced !== false) mc.markSynced();
  return idx;
}

async function ask(idx: RecordIndex, qname: string, qtype: string) {
  const k = loadCorefile(COREFILE)[0]!.kubernetes!;
  const h = new DnsHandler({ controller: scopedController(idx, k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  const out = await h.handle(buildQuery(qname, qtype), { proto: 'tcp', address: '127.0.0.1', family: 4 });
  return decode(out!);
}

const CS = 'clusterset.local';
const SOA_CS = rr(`${CS}.`, 'SOA', `ns.dns.${CS}. hostmaster.${CS}. 7200 1800 86400 5`);

test('the Corefile option: zones, and the multicluster zone must be one of the plugin’s', (t) => {
  const k = loadCorefile(COREFILE)[0]!.kubernetes!;
  t.like(k, { zone: 'cluster.local', multiclusterZones: [CS], reverseZones: [] });
  t.throws(() => loadCorefile('.:53 {\n  kubernetes cluster.local {\n    multicluster clusterset.local\n  }\n}\n'), { message: /is not authoritative for the multicluster zone clusterset.local./ });
  // A zone that is not multicluster is another cluster zone (coredns/two-zones.test.ts).
  t.like(loadCorefile('.:53 {\n  kubernetes cluster.local other.local\n}\n')[0]!.kubernetes!, { zone: 'cluster.local', otherZones: ['other.local'], multiclusterZones: [] });
});

test('the cluster zone answers from Services, the clusterset zone from ServiceImports', async (t) => {
  const idx = index();
  t.deepEqual((await ask(idx, 'web.testns.svc.cluster.local.', 'A')).answer, [rr('web.testns.svc.cluster.local.', 'A', '10.96.0.5')]);
  t.deepEqual((await ask(idx, `web.testns.svc.${CS}.`, 'A')).answer, [rr(`web.testns.svc.${CS}.`, 'A', '10.200.0.5')]);
  const srv = await ask(idx, `_http._tcp.web.testns.svc.${CS}.`, 'SRV');
  t.deepEqual(srv.answer, [rr(`_http._tcp.web.testns.svc.${CS}.`, 'SRV', `0 100 80 web.testns.svc.${CS}.`)]);
  t.deepEqual(srv.extra, [rr(`web.testns.svc.${CS}.`, 'A', '10.200.0.5')]);
  t.is((await ask(idx, 'db.testns.svc.cluster.local.', 'A')).rcode, 'NXDOMAIN', 'no such Service');
});

test('a headless import: ready endpoints of every cluster; endpoint names carry the cluster', async (t) => {
  const idx = index();
  t.deepEqual((await ask(idx, `db.testns.svc.${CS}.`, 'A')).answer.sort(), [rr(`db.testns.svc.${CS}.`, 'A', '172.16.1.10'), rr(`db.testns.svc.${CS}.`, 'A', '172.16.2.10')]);
  t.deepEqual((await ask(idx, `db-0.west.db.testns.svc.${CS}.`, 'A')).answer, [rr(`db-0.west.db.testns.svc.${CS}.`, 'A', '172.16.2.10')]);
  t.like(await ask(idx, `db-0.db.testns.svc.${CS}.`, 'A'), { rcode: 'NXDOMAIN', ns: [SOA_CS] });
  t.is((await ask(idx, `172-16-1-11.east.db.testns.svc.${CS}.`, 'A')).rcode, 'NXDOMAIN', 'not ready');
  t.deepEqual((await ask(idx, `_http._tcp.db.testns.svc.${CS}.`, 'SRV')).answer.sort(), [
    rr(`_http._tcp.db.testns.svc.${CS}.`, 'SRV', `0 50 80 db-0.east.db.testns.svc.${CS}.`),
    rr(`_http._tcp.db.testns.svc.${CS}.`, 'SRV', `0 50 80 db-0.west.db.testns.svc.${CS}.`),
  ]);
});

test('as CoreDNS: a ClusterSetIP import without ports has no record; namespaces applies to imports', async (t) => {
  const idx = index();
  t.like(await ask(idx, `portless.testns.svc.${CS}.`, 'A'), { rcode: 'NXDOMAIN', ns: [SOA_CS] });
  t.is((await ask(idx, `web.otherns.svc.${CS}.`, 'A')).rcode, 'NXDOMAIN');
  t.like(await ask(idx, `testns.svc.${CS}.`, 'A'), { rcode: 'NOERROR', answer: [], ns: [SOA_CS] });
});

test('until the ServiceImports have listed (their CRD absent) the clusterset zone answers SERVFAIL for what it lacks; the cluster zone is unaffected', async (t) => {
  const idx = index({ importsSynced: false });
  t.like(await ask(idx, `nope.testns.svc.${CS}.`, 'A'), { rcode: 'SERVFAIL', ns: [SOA_CS] });
  t.deepEqual((await ask(idx, `web.testns.svc.${CS}.`, 'A')).answer, [rr(`web.testns.svc.${CS}.`, 'A', '10.200.0.5')], 'what is there is answered');
  t.is((await ask(idx, 'nope.testns.svc.cluster.local.', 'A')).rcode, 'NXDOMAIN');
  idx.multicluster.deleteServiceImport('testns', 'web');
  idx.multicluster.markSynced();
  t.is((await ask(idx, `web.testns.svc.${CS}.`, 'A')).rcode, 'NXDOMAIN', 'a deleted import is gone');
});

test('an import’s endpoints follow its slices: updated, relabelled to another service, deleted', (t) => {
  const mc = index().multicluster;
  const ips = (service: string) => mc.endpoints('testns', service).map((e) => `${e.clusterId}/${e.ip}`).sort();
  t.deepEqual(ips('db'), ['east/172.16.1.10', 'west/172.16.2.10']);
  const west = (service: string, addresses: string[]) => toMcEndpointSlice({
    metadata: { namespace: 'testns', name: 'db-west', labels: { [LABEL_SERVICE_NAME]: service, [LABEL_SOURCE_CLUSTER]: 'west' } },
    addressType: 'IPv4', endpoints: [{ addresses }], ports: http,
  })!;
  mc.setEndpointSlice(west('db', ['172.16.2.11']));
  t.deepEqual(ips('db'), ['east/172.16.1.10', 'west/172.16.2.11']);
  mc.setEndpointSlice(west('cache', ['172.16.2.11']));
  t.deepEqual(ips('db'), ['east/172.16.1.10']);
  t.deepEqual(ips('cache'), ['west/172.16.2.11']);
  mc.deleteEndpointSlice('testns', 'db-west');
  mc.deleteEndpointSlice('testns', 'db-east');
  t.deepEqual(ips('cache'), []);
  t.deepEqual(ips('db'), []);
});
