import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { scopedController } from '../../../../src/dns/corefile/scoped-controller.ts';
import { DnsMetrics } from '../../../../src/dns/metrics.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, MultiClusterIndex, toDnsServiceImport, toMcEndpointSlice, type McEndpointSlice } from '../../../../src/dns/multicluster.ts';
import { toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { checkCase } from '../helpers.ts';
import { ask, coreDnsIndex, SERVICE_MODIFIED, SOA } from './fixture.ts';

// CoreDNS's controller tests (plugin/kubernetes/controller_test.go,
// controller_equivalence_test.go, coredns/coredns@4b26cced3), as what they
// protect: which updates change the zone (the SOA serial moves and cached
// answers go) and which do not, asked of Ferry's RecordIndex by counting
// its change notifications; and noendpoints answering headless names NXDOMAIN.

/** changes applies `first`, then counts the change notifications `second` causes. */
function changes(first: (i: RecordIndex) => void, second: (i: RecordIndex) => void): number {
  const index = new RecordIndex({ watchNamespaces: true });
  first(index);
  let n = 0;
  index.onChange(() => n++);
  second(index);
  return n;
}

const svc = (spec: Service['spec']): Service => ({ metadata: { namespace: 'testns', name: 'svc' }, spec });
// TestServiceModified's internal-zone column (fixture.ts; the external one: external.test.ts).
for (const [name, old, cur, changed] of SERVICE_MODIFIED) {
  test(`TestServiceModified: ${name}`, (t) => {
    const n = changes((i) => old && i.setService(toDnsService(old)), (i) => (cur ? i.setService(toDnsService(cur)) : i.deleteService('testns', 'svc')));
    t.is(n > 0, changed);
  });
}

test('TestPodModified, TestDetectChangesPodUpdate: a pod update changes the zone only when its address does', (t) => {
  const pod = (ips: string[]) => ({ namespace: 'testns', ips });
  t.is(changes((i) => i.updatePod(undefined, pod(['10.240.0.1'])), (i) => i.updatePod(pod(['10.240.0.1']), pod(['10.240.0.1']))), 0);
  t.is(changes((i) => i.updatePod(undefined, pod([])), (i) => i.updatePod(pod([]), pod(['10.240.0.1']))), 1);
  t.is(changes((i) => i.updatePod(undefined, pod(['10.240.0.1'])), (i) => i.updatePod(pod(['10.240.0.1']), pod(['10.240.0.2']))), 1);
});

const base = { addresses: ['10.0.0.1'], hostname: 'a', conditions: { ready: true } };
const slice = (endpoints: NonNullable<EndpointSlice['endpoints']>, ports: EndpointSlice['ports'] = [{ name: 'http', port: 80, protocol: 'TCP' }]): EndpointSlice => ({
  metadata: { namespace: 'testns', name: 'svc-1', labels: { 'kubernetes.io/service-name': 'svc' } }, addressType: 'IPv4', endpoints, ports,
});
// TestSubsetsEquivalent and TestEndpointsEquivalent, as slice updates.
const sliceCases: Array<[name: string, next: EndpointSlice, changed: boolean]> = [
  ['identical', slice([base]), false],
  ['different address count', slice([]), true],
  ['different port count', slice([base], []), true],
  ['different ip', slice([{ ...base, addresses: ['10.0.0.2'] }]), true],
  ['different hostname', slice([{ ...base, hostname: 'b' }]), true],
  ['different port number', slice([base], [{ name: 'http', port: 8080, protocol: 'TCP' }]), true],
  ['different port protocol', slice([base], [{ name: 'http', port: 80, protocol: 'UDP' }]), true],
  ['different subset count (a second endpoint)', slice([base, base]), true],
  ['readiness changed (CoreDNS drops not-ready addresses)', slice([{ ...base, conditions: { ready: false } }]), true],
];
for (const [name, next, changed] of sliceCases) {
  test(`TestSubsetsEquivalent / TestEndpointsEquivalent: ${name}`, (t) => {
    t.is(changes((i) => i.setEndpointSlice(toDnsEndpointSlice(slice([base]))!), (i) => i.setEndpointSlice(toDnsEndpointSlice(next)!)) > 0, changed);
  });
}

// TestEndpointsDisabled / TestEndpointsEnabled: with noendpoints a headless Service has no records.
test('TestEndpointsDisabled: noendpoints answers a headless Service NXDOMAIN', async (t) => {
  const scoped = scopedController(coreDnsIndex(), { namespaces: [], noEndpoints: true, endpointPodNames: false, ignoreEmptyService: false });
  checkCase(t, await ask(scoped, 'hdls1.testns.svc.cluster.local.', 'A'), { qname: '', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] });
});
test('TestEndpointsEnabled: with endpoints the headless Service answers', async (t) => {
  checkCase(t, await ask(coreDnsIndex(), 'hdls1.testns.svc.cluster.local.', 'A'), { qname: '', qtype: 'A', rcode: 'NOERROR' });
});

// TestEndpointLatencyRecorder_record (object/metrics_test.go): a slice change
// with the endpoints controller's trigger time observes the programming
// latency under its Service's kind; none without the annotation's time, and
// none while the Service is not known yet (informer lag).
const latencyCases: Array<[name: string, service: Service | undefined, triggerTime: boolean, label: string, samples: number]> = [
  ['headless service with trigger annotation', svc({ clusterIP: 'None' }), true, 'headless_with_selector', 1],
  ['ClusterIP service with trigger annotation', svc({ clusterIP: '10.0.0.1' }), true, 'cluster_ip', 1],
  ['no annotation on headless', svc({ clusterIP: 'None' }), false, 'headless_with_selector', 0],
  ['no annotation on ClusterIP', svc({ clusterIP: '10.0.0.1' }), false, 'cluster_ip', 0],
  ['informer lag: no backing service', undefined, true, 'cluster_ip', 0],
];
for (const [name, service, triggerTime, label, samples] of latencyCases) {
  test(`TestEndpointLatencyRecorder_record: ${name}`, async (t) => {
    const index = new RecordIndex({ watchNamespaces: true });
    const metrics = new DnsMetrics('dns://:53');
    // As DnsServer wires them.
    index.onChange((kind, at) => at !== undefined && metrics.programmed(kind, at));
    if (service) index.setService(toDnsService(service));
    index.setEndpointSlice(toDnsEndpointSlice(slice([base]))!, triggerTime ? Date.now() - 1000 : undefined);
    const json = await metrics.registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'coredns_kubernetes_dns_programming_duration_seconds')!;
    const counts = histogram.values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    t.is(counts.find((v) => v.labels.service_kind === label)?.value ?? 0, samples);
    t.is(counts.reduce((n, v) => n + v.value, 0), samples, 'no sample under another kind');
  });
}

// TestMulticlusterEndpointsEquivalent and TestServiceImportEquivalent, as updates of the multicluster index.
const mcSlice = (cluster: string): McEndpointSlice => toMcEndpointSlice({
  metadata: { namespace: 'testns', name: 'svc-1', labels: { [LABEL_SERVICE_NAME]: 'svc', [LABEL_SOURCE_CLUSTER]: cluster } },
  addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
})!;
const si = (type: string, port = 80) => toDnsServiceImport({ metadata: { namespace: 'testns', name: 'svc' }, spec: { type, ...(type === 'ClusterSetIP' ? { ips: ['10.0.0.9'] } : {}), ports: [{ name: 'http', port, protocol: 'TCP' }] } });
function mcChanges(first: (m: MultiClusterIndex) => void, second: (m: MultiClusterIndex) => void): number {
  let n = 0;
  const m = new MultiClusterIndex(() => n++);
  first(m);
  n = 0;
  second(m);
  return n;
}
test('TestMulticlusterEndpointsEquivalent: the same slice from the same cluster changes nothing; another cluster does', (t) => {
  t.is(mcChanges((m) => m.setEndpointSlice(mcSlice('cluster1')), (m) => m.setEndpointSlice(mcSlice('cluster1'))), 0);
  t.is(mcChanges((m) => m.setEndpointSlice(mcSlice('cluster1')), (m) => m.setEndpointSlice(mcSlice('cluster2'))), 1);
  t.is(mcChanges(() => undefined, (m) => m.setEndpointSlice(mcSlice('cluster1'))), 1, 'added');
});
test('TestServiceImportEquivalent: type and ports count; an identical import changes nothing', (t) => {
  t.is(mcChanges((m) => m.setServiceImport(si('ClusterSetIP')), (m) => m.setServiceImport(si('ClusterSetIP'))), 0);
  t.is(mcChanges(() => undefined, (m) => m.setServiceImport(si('ClusterSetIP'))), 1, 'added');
  t.is(mcChanges((m) => m.setServiceImport(si('ClusterSetIP')), (m) => m.deleteServiceImport('testns', 'svc')), 1, 'removed');
  t.is(mcChanges((m) => m.setServiceImport(si('ClusterSetIP')), (m) => m.setServiceImport(si('Headless'))), 1, 'type');
  t.is(mcChanges((m) => m.setServiceImport(si('ClusterSetIP')), (m) => m.setServiceImport(si('ClusterSetIP', 8080))), 1, 'ports');
});

// TestMultiClusterHeadless: a headless ServiceImport with endpoints answers in the clusterset zone.
test('TestMultiClusterHeadless: a headless import answers its endpoints', async (t) => {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  index.multicluster.setServiceImport(toDnsServiceImport({ metadata: { namespace: 'testns', name: 'svc2' }, spec: { type: 'Headless', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } }));
  index.multicluster.setEndpointSlice(toMcEndpointSlice({
    metadata: { namespace: 'testns', name: 'svc2-1', labels: { [LABEL_SERVICE_NAME]: 'svc2', [LABEL_SOURCE_CLUSTER]: 'cluster1' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.2'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  })!);
  index.multicluster.markSynced();
  index.markSynced();
  const got = await ask(index, 'svc2.testns.svc.clusterset.local.', 'A', { multiclusterZones: ['clusterset.local'] });
  t.is(got.rcode, 'NOERROR');
  t.deepEqual(got.answer, ['svc2.testns.svc.clusterset.local.\t5\tIN\tA\t10.0.0.2']);
});
