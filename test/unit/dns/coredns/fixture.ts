/*
 * Upstream test inventory: every Test func of CoreDNS's plugin/kubernetes
 * (coredns/coredns@4b26cced3), where Ferry runs it or why it does not.
 * "Missing feature" means Ferry lacks what the test needs; a Corefile that
 * asks for it is refused by name.
 *
 * handler_test.go
 *   TestServeDNS, TestServeNamespaceDNS, TestNotSyncedServeDNS, TestMultiClusterServeDNS ... handler.test.ts
 * handler_case_test.go: TestPreserveCase ... case.test.ts
 * handler_ignore_emptyservice_test.go: TestServeDNSEmptyService ... empty-service.test.ts
 * handler_pod_{disabled,insecure,verified}_test.go: TestServeDNSModeDisabled, TestServeDNSModeInsecure,
 *   TestServeDNSModeVerified ... zones.test.ts
 * kubernetes_apex_test.go: TestServeDNSApex ... zones.test.ts
 * reverse_test.go: TestReverse ... zones.test.ts (which lists its rows left out)
 * ns_test.go
 *   TestNsAddrs ... zones.test.ts
 *   TestNsAddrsExternal, TestNsAddrsExternalHeadless, TestNsAddrsExternalWithPreexistingExternalIP ... external.test.ts
 * zonal_test.go: TestServeDNSZonal, TestEndpointsEquivalentZoneChange ... zonal.test.ts
 * xfr_test.go
 *   TestKubernetesAXFR, TestKubernetesIXFRFallback, TestKubernetesIXFRCurrent, TestKubernetesAXFRMultipleNSAddrs,
 *   TestKubernetesTransferNonAuthZone, TestKubernetesMultiClusterAXFR ... transfer.test.ts
 *   (dig AXFR/IXFR: test/integration/dns/transfer.test.ts; the TCP side: transfer-tcp.test.ts)
 * kubernetes_test.go
 *   TestEndpointHostname, TestServices (both zones' rows), TestServicesAuthority ... lookup.test.ts
 * parse_test.go: TestParseRequest, TestParseInvalidRequest ... lookup.test.ts
 * namespace_test.go: TestNamespaceValid, TestFilteredNamespaceExists, TestNamespaceExposed ... lookup.test.ts
 *   (through hasNamespace; TestNamespaceExposed's two "nothing configured, any name" rows test the
 *   configured-only half that Ferry does not split out: internals)
 * setup_test.go, setup_ttl_test.go
 *   TestKubernetesParse (rows for options Ferry has), TestKubernetesParseEndpointPodNames, TestKubernetesParseNoEndpoints,
 *   TestKubernetesParseIgnoreEmptyService, TestKubernetesParseZonal, TestKubernetesParseMulticluster, TestBoundIPs,
 *   TestKubernetesParseTTL ... setup.test.ts
 *   (its fallthrough row: fallthrough.test.ts; labels, namespace_labels, endpoint, kubeconfig and
 *   startup_timeout also end to end in test/integration/dns/kubernetes-options.test.ts)
 *   TestKubernetesParseAPIRateLimiting ... api-limits.test.ts (the limits measured on real requests)
 *   TestKubernetesParse's rows with two cluster zones ... two-zones.test.ts
 * controller_test.go
 *   TestEndpointsDisabled, TestEndpointsEnabled, TestServiceModified (its internal-zone column; the other is
 *   external.test.ts), TestPodModified, TestDetectChangesPodUpdate, TestMultiClusterHeadless ... controller.test.ts
 * controller_equivalence_test.go
 *   TestSubsetsEquivalent, TestEndpointsEquivalent, TestMulticlusterEndpointsEquivalent,
 *   TestServiceImportEquivalent ... controller.test.ts
 * object/metrics_test.go: TestEndpointLatencyRecorder_record ... controller.test.ts
 * external_test.go: TestExternal ... external.test.ts (with plugin/k8s_external's own TestApex, TestSetup,
 *   TestTransferAXFR, TestTransferIXFR)
 * metadata_test.go: TestMetadata, TestMetadataPodsVerified ... metadata.test.ts
 * metrics_test.go: TestSanitizeLabelValue ... api-limits.test.ts checks the host label of the API client
 *   metrics it guards (coredns_kubernetes_rest_client_*); the sanitizing itself turns invalid UTF-8 bytes of a
 *   Go string into U+FFFD, and a JavaScript string holds none (internals)
 * informer_test.go: TestDefaultProcessor, TestDefaultProcessorWithPod ... client-go's delta processing into
 *   CoreDNS's cache (internals); Ferry's informers → index path runs end to end in
 *   test/integration/dns/propagation.test.ts and records.test.ts, its transforms in ../compact.test.ts
 * object/deepcopy_test.go: TestDeepCopyObjectCopiesEveryField, TestDeepCopyObjectIsDeep,
 *   TestDeepCopyObjectPreservesNilLabels ... Go runtime.Object deep copies of CoreDNS's cache types
 *   (internals: Ferry's slim copies are plain data and never copied)
 * autopath_test.go (benchmarks of the autopath plugin, which Ferry does not have), log_test.go: no Test funcs
 */

import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../../../src/dns/acl.ts';
import type { DnsController } from '../../../../src/dns/controller.ts';
import { DnsHandler } from '../../../../src/dns/handler.ts';
import type { PodMode } from '../../../../src/dns/lookup.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, toDnsServiceImport, toMcEndpointSlice, type ServiceImport } from '../../../../src/dns/multicluster.ts';
import { toDnsEndpointSlice, toDnsService } from '../../../../src/dns/object.ts';
import { RecordIndex } from '../../../../src/dns/records.ts';
import { buildQuery, decode, type Decoded } from '../helpers.ts';

/**
 * CoreDNS's kubernetes plugin test cluster (APIConnServeTest in
 * plugin/kubernetes/handler_test.go, coredns/coredns@4b26cced3), rebuilt as
 * the Services and EndpointSlices it stands for and loaded into Ferry's
 * record index through the informers' projections. CoreDNS's default TTL in
 * these tests is 5 s, so the handler runs with ttl 5.
 *
 * CoreDNS's test.SortAndCheck compares an SOA by owner, TTL and primary name
 * server only; the expected SOA lines here carry Ferry's full rdata with
 * those three fields as upstream's.
 */
export const SOURCE = 'coredns/coredns@4b26cced3 plugin/kubernetes';
export const SOA = 'cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 7200 1800 86400 5';

const http = [{ name: 'http', protocol: 'TCP', port: 80 }];
const service = (namespace: string, name: string, spec: Service['spec']): Service => ({ metadata: { namespace, name }, spec });
const slice = (namespace: string, svc: string, name: string, addresses: Array<[string, string?]>, ports = http): EndpointSlice => ({
  metadata: { namespace, name, labels: { 'kubernetes.io/service-name': svc } },
  addressType: addresses[0]![0].includes(':') ? 'IPv6' : 'IPv4',
  endpoints: addresses.map(([ip, hostname]) => ({ addresses: [ip], ...(hostname ? { hostname } : {}), conditions: { ready: true } })),
  ports,
});

const SERVICES: Service[] = [
  service('kube-system', 'kubedns', { clusterIP: '10.0.0.10', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }),
  service('testns', 'svc1', { clusterIP: '10.0.0.1', ports: http }),
  service('testns', 'svcempty', { clusterIP: '10.0.0.1', ports: http }),
  service('testns', 'svc6', { clusterIP: '1234:abcd::1', ports: http }),
  service('testns', 'hdls1', { clusterIP: 'None' }),
  service('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test', ports: http }),
  service('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local.', ports: http }),
  service('testns', 'hdlsprtls', { clusterIP: 'None' }),
  service('unexposedns', 'svc1', { clusterIP: '10.0.0.2', ports: http }),
  service('testns', 'svc-dual-stack', { clusterIPs: ['10.0.0.3', '10::3'], ports: http }),
];

const SLICES: EndpointSlice[] = [
  slice('kube-system', 'kubedns', 'kubedns', [['172.0.0.100']], [{ name: 'dns', protocol: 'UDP', port: 53 }]),
  slice('testns', 'svc1', 'svc1-slice1', [['172.0.0.1', 'ep1a']]),
  // svcempty's Endpoints list ports but no address: no slice endpoints.
  { metadata: { namespace: 'testns', name: 'svcempty-slice1', labels: { 'kubernetes.io/service-name': 'svcempty' } }, addressType: 'IPv4', endpoints: [], ports: http },
  // hdls1's one Endpoints object holds both families: one slice per family.
  slice('testns', 'hdls1', 'hdls1-slice1', [['172.0.0.2'], ['172.0.0.3'], ['172.0.0.4', 'dup-name'], ['172.0.0.5', 'dup-name']]),
  slice('testns', 'hdls1', 'hdls1-slice2', [['5678:abcd::1'], ['5678:abcd::2']]),
  // hdlsprtls's endpoint port is -1 in CoreDNS's fixture: no port.
  slice('testns', 'hdlsprtls', 'hdlsprtls-slice1', [['172.0.0.20']], []),
];

/**
 * The same cluster as MCS API objects (svcImportIndex and mcEpsIndex in
 * handler_test.go, same commit): a ServiceImport per Service but the
 * ExternalNames, and the endpoints as slices from cluster `cluster1`.
 */
const imp = (namespace: string, name: string, type: string, ips: string[], ports = http): ServiceImport => ({ metadata: { namespace, name }, spec: { type, ips, ports } });
const IMPORTS: ServiceImport[] = [
  imp('kube-system', 'kubedns', 'ClusterSetIP', ['10.0.0.10'], [{ name: 'dns', protocol: 'UDP', port: 53 }]),
  imp('testns', 'svc1', 'ClusterSetIP', ['10.0.0.1']),
  imp('testns', 'svcempty', 'ClusterSetIP', ['10.0.0.1']),
  imp('testns', 'svc6', 'ClusterSetIP', ['1234:abcd::1']),
  imp('testns', 'hdls1', 'Headless', [], []),
  imp('testns', 'hdlsprtls', 'Headless', [], []),
  imp('unexposedns', 'svc1', 'ClusterSetIP', ['10.0.0.2']),
  imp('testns', 'svc-dual-stack', 'ClusterSetIP', ['10.0.0.3', '10::3']),
];
const mcSlice = (s: EndpointSlice): EndpointSlice => {
  const service = s.metadata!.labels!['kubernetes.io/service-name']!;
  return { ...s, metadata: { ...s.metadata, labels: { [LABEL_SERVICE_NAME]: service, [LABEL_SOURCE_CLUSTER]: 'cluster1' } } };
};

/**
 * controller_test.go TestServiceModified: a Service update (undefined: none)
 * and whether it changes the cluster zone (controller.test.ts) and the
 * `k8s_external` zone (external.test.ts), CoreDNS's two columns.
 */
export const SERVICE_MODIFIED: Array<[name: string, old: Service | undefined, cur: Service | undefined, cluster: boolean, external: boolean]> = [
  ['added', undefined, service('testns', 'svc', { clusterIP: '10.0.0.1' }), true, false],
  ['deleted', service('testns', 'svc', { clusterIP: '10.0.0.1' }), undefined, true, false],
  ['added with external IPs', undefined, service('testns', 'svc', { clusterIP: '10.0.0.1', externalIPs: ['10.0.0.1'] }), true, true],
  ['deleted with external IPs', service('testns', 'svc', { clusterIP: '10.0.0.1', externalIPs: ['10.0.0.1'] }), undefined, true, true],
  ['external IPs changed only', service('testns', 'svc', { clusterIP: '10.0.0.1', externalIPs: ['10.0.0.1'] }), service('testns', 'svc', { clusterIP: '10.0.0.1', externalIPs: ['10.0.0.2'] }), false, true],
  ['external name changed', service('testns', 'svc', { type: 'ExternalName', externalName: 'a.example' }), service('testns', 'svc', { type: 'ExternalName', externalName: 'b.example' }), true, false],
  ['port renamed', service('testns', 'svc', { clusterIP: '10.0.0.1', ports: [{ name: 'test1', port: 80 }] }), service('testns', 'svc', { clusterIP: '10.0.0.1', ports: [{ name: 'test2', port: 80 }] }), true, true],
  ['port added', service('testns', 'svc', { clusterIP: '10.0.0.1', ports: [{ name: 'test1', port: 80 }] }), service('testns', 'svc', { clusterIP: '10.0.0.1', ports: [{ name: 'test2', port: 80 }, { name: 'test3', port: 81 }] }), true, true],
];

/**
 * coreDnsIndex builds the index; `namespaces` are the ones that exist
 * (CoreDNS's exposed namespaces in the test at hand), `pods` the verified-mode pods.
 */
export function coreDnsIndex(o: { namespaces?: string[]; pods?: Array<[string, string]>; synced?: boolean; multicluster?: boolean } = {}): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  for (const ns of o.namespaces ?? ['testns']) index.setNamespace(ns);
  for (const s of SERVICES) index.setService(toDnsService(s));
  for (const s of SLICES) index.setEndpointSlice(toDnsEndpointSlice(s)!);
  for (const [namespace, ip] of o.pods ?? []) index.updatePod(undefined, { namespace, ips: [ip] });
  if (o.multicluster) {
    for (const si of IMPORTS) index.multicluster.setServiceImport(toDnsServiceImport(si));
    for (const s of SLICES) index.multicluster.setEndpointSlice(toMcEndpointSlice(mcSlice(s))!);
    index.multicluster.markSynced();
  }
  if (o.synced !== false) index.markSynced();
  return index;
}

export interface AskOptions {
  podMode?: PodMode;
  localIPs?: string[];
  /** The reverse zones the plugin is given, without fallthrough (default: kubeadm's, falling through). */
  reverseZones?: string[];
  /** Zones answered from ServiceImports (the index must be built with `multicluster`). */
  multiclusterZones?: string[];
}

/**
 * ask sends one query to a handler over the index (or a scoped view of it) and decodes the answer.
 * It asks over TCP: CoreDNS's handler tests see the plugin's whole answer,
 * before any server truncates it to a UDP size.
 */
export async function ask(index: DnsController, qname: string, qtype: string | number, o: AskOptions = {}): Promise<Decoded> {
  const h = new DnsHandler({
    controller: index, zone: 'cluster.local', ttl: 5,
    ...(o.reverseZones ? { reverseZones: o.reverseZones, fallthrough: [] } : {}),
    ...(o.multiclusterZones ? { multiclusterZones: o.multiclusterZones } : {}), podMode: o.podMode ?? 'insecure', forwarder: undefined,
    acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined, localIPs: o.localIPs ?? [],
  });
  const out = await h.handle(buildQuery(qname, qtype), { proto: 'tcp', address: '127.0.0.1', family: 4 });
  if (!out) throw new Error(`no answer to ${qname} ${qtype}`);
  return decode(out);
}
