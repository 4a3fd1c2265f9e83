import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { countNoLocalEndpoints } from '../../../../src/endpoints/topology.ts';
import { destKey, SET, vsKey } from '../../../../src/ipvs/desired.ts';
import { applyOp, diffVirtualServer, type KernelVirtualServer } from '../../../../src/ipvs/diff.ts';
import { IPVS_SVC_F_HASHED, IPVS_SVC_F_PERSISTENT, type VirtualService } from '../../../../src/netlink/ipvs.ts';
import { FakeNode, makeTestEndpointSlice, makeTestService, testHostname, type TestEndpoint } from './kube-proxy.ts';

// Syncs over time from kube-proxy's IPVS proxier tests (source and the list
// of ported tests in kube-proxy.ts): services and slices added, updated and
// deleted between syncs, and what the kernel holds after each.

// --- Test_syncService: one virtual server brought to the wanted settings.
// (Its bindAddr half is Ferry's desired address set, TestMultiPortServiceBindAddr below.)
const virtualServer = (protocol: 'TCP' | 'UDP' | 'SCTP', port: number, scheduler: string, flags: number): VirtualService => ({ protocol, address: '1.2.3.4', port, scheduler, flags, timeout: 0, netmask: 0xffffffff });
const syncServiceCases: Array<[old: VirtualService | undefined, next: VirtualService]> = [
  [virtualServer('TCP', 80, 'rr', IPVS_SVC_F_HASHED), virtualServer('TCP', 80, 'rr', IPVS_SVC_F_HASHED)],
  [virtualServer('TCP', 8080, 'rr', IPVS_SVC_F_HASHED), virtualServer('TCP', 8080, 'rr', IPVS_SVC_F_PERSISTENT)],
  [virtualServer('TCP', 8080, 'rr', IPVS_SVC_F_HASHED), virtualServer('TCP', 8080, 'wlc', IPVS_SVC_F_HASHED)],
  [undefined, virtualServer('UDP', 53, 'rr', IPVS_SVC_F_HASHED)],
  [virtualServer('SCTP', 80, 'rr', IPVS_SVC_F_HASHED), virtualServer('SCTP', 80, 'rr', IPVS_SVC_F_HASHED)],
  [virtualServer('SCTP', 8080, 'rr', IPVS_SVC_F_HASHED), virtualServer('SCTP', 8080, 'rr', IPVS_SVC_F_PERSISTENT)],
  [virtualServer('SCTP', 8080, 'rr', IPVS_SVC_F_HASHED), virtualServer('SCTP', 8080, 'wlc', IPVS_SVC_F_HASHED)],
  [undefined, virtualServer('SCTP', 53, 'rr', IPVS_SVC_F_HASHED)],
  [virtualServer('SCTP', 53, 'rr', IPVS_SVC_F_HASHED), virtualServer('SCTP', 53, 'rr', IPVS_SVC_F_HASHED)],
];

syncServiceCases.forEach(([old, next], i) => {
  test(`Test_syncService: case ${i}`, (t) => {
    const key = vsKey(next.protocol, next.address, next.port);
    const kernel = new Map<string, KernelVirtualServer>();
    if (old) kernel.set(key, { service: old, dests: new Map() });
    for (const op of diffVirtualServer({ service: next, dests: new Map() }, kernel.get(key))) applyOp(kernel, key, op);
    t.is(kernel.size, 1);
    t.deepEqual(kernel.get(key)!.service, next);
  });
});

const svc1 = (ports: NonNullable<Service['spec']>['ports'], extra: Partial<NonNullable<Service['spec']>> = {}) =>
  makeTestService('ns1', 'svc1', { clusterIP: '172.20.1.1', selector: { foo: 'bar' }, ports, ...extra });
// Upstream's ServicePort{Name: "", TargetPort: 80} leaves Port at Go's zero value.
const unnamedPort = [{ name: '', port: 0, targetPort: 80, protocol: 'TCP' as const }];
const slice = (endpoints: TestEndpoint[], name = '') => makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints, ports: [{ name, port: 80, protocol: 'TCP' }] });

test('Test_syncEndpoint_updateWeightsOnRestart: real servers at weight 0 get weight 1 back after a restart', (t) => {
  const service = makeTestService('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] });
  const endpoints = makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] });
  const before = new FakeNode().addServices(service).addSlices(endpoints);
  before.sync();
  const key = vsKey('TCP', '10.20.30.41', 80);
  const vs = before.kernel.get(key)!;
  for (const [k, d] of vs.dests) vs.dests.set(k, { ...d, weight: 0 });
  // The restart: a new proxier over the same kernel.
  const after = new FakeNode().addServices(service).addSlices(endpoints);
  for (const [k, v] of before.kernel) after.kernel.set(k, v);
  after.sync();
  t.deepEqual(after.ipvs()['10.20.30.41:80/TCP']?.dests, ['10.180.0.1:80']);
  t.is(after.kernel.get(key)!.dests.get(destKey('10.180.0.1', 80))!.weight, 1);
});

test('TestMultiPortServiceBindAddr: the cluster IP stays bound while any port uses it and goes with the last', (t) => {
  const port = (name: string, protocol: 'TCP' | 'UDP', p: number) => ({ name, protocol, port: p, nodePort: 0, targetPort: 0 });
  const service = (ports: ReturnType<typeof port>[]) => makeTestService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '172.16.55.4', ports });
  const service1 = service([port('port1', 'TCP', 1234), port('port2', 'TCP', 1235)]);
  const service2 = service([port('port1', 'TCP', 1234)]);
  const service3 = service([port('port1', 'TCP', 1234), port('port2', 'TCP', 1235), port('port3', 'UDP', 1236)]);
  const node = new FakeNode().addServices(service1);
  node.sync();
  t.deepEqual([...node.bound], ['172.16.55.4']);
  node.builder.onServiceChange(service1, service2);
  node.sync();
  t.deepEqual([...node.bound], ['172.16.55.4']);
  node.builder.onServiceChange(service2, service3);
  node.sync();
  t.deepEqual([...node.bound], ['172.16.55.4']);
  node.builder.onServiceChange(service3, undefined);
  node.sync();
  t.deepEqual([...node.bound], []);
});

test('TestEndpointSliceE2E: real servers and hairpin entries follow the slice, the virtual server stays', (t) => {
  const endpoints = slice([
    { addresses: ['10.0.1.1'], conditions: { ready: true }, nodeName: testHostname },
    { addresses: ['10.0.1.2'], conditions: { ready: true }, nodeName: 'node2' },
    { addresses: ['10.0.1.3'], conditions: { ready: true }, nodeName: 'node3' },
    { addresses: ['10.0.1.4'], conditions: { ready: false }, nodeName: 'node3' }, // not ready: ignored
  ]);
  const node = new FakeNode().addServices(svc1(unnamedPort)).addSlices(endpoints);
  node.sync();
  t.deepEqual(node.ipset(SET.loopBack), ['10.0.1.1,tcp:80,10.0.1.1']);
  t.deepEqual(Object.values(node.ipvs()).map((v) => v.dests), [['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80']]);
  node.builder.onEndpointSliceChange(endpoints, true);
  node.sync();
  t.deepEqual(node.ipset(SET.loopBack), []);
  t.deepEqual(Object.values(node.ipvs()).map((v) => v.dests), [[]]);
});

test('TestHealthCheckNodePortE2E: the health check node port set follows the service', (t) => {
  const svc = svc1(unnamedPort, { type: 'LoadBalancer', healthCheckNodePort: 30000, externalTrafficPolicy: 'Local' });
  const node = new FakeNode().addServices(svc);
  node.sync();
  t.deepEqual(node.ipset(SET.healthCheckNodePort), ['30000']);
  const updated = { ...svc, spec: { ...svc.spec, healthCheckNodePort: 30001 } };
  node.builder.onServiceChange(svc, updated);
  node.sync();
  t.deepEqual(node.ipset(SET.healthCheckNodePort), ['30001']);
  node.builder.onServiceChange(updated, undefined);
  node.sync();
  t.deepEqual(node.ipset(SET.healthCheckNodePort), []);
});

const itpCases: Array<{ name: string; itp: 'Cluster' | 'Local'; endpoints: Array<[string, string]>; virtualServer: boolean; localEntries: boolean; realServers: string[] }> = [
  { name: 'internalTrafficPolicy is cluster with non-zero local endpoints', itp: 'Cluster', endpoints: [['10.0.1.1', testHostname], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], virtualServer: true, localEntries: true, realServers: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'] },
  { name: 'internalTrafficPolicy is cluster with zero local endpoints', itp: 'Cluster', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], virtualServer: false, localEntries: false, realServers: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'] },
  { name: 'internalTrafficPolicy is local with non-zero local endpoints', itp: 'Local', endpoints: [['10.0.1.1', testHostname], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], virtualServer: true, localEntries: true, realServers: ['10.0.1.1:80'] },
  { name: 'internalTrafficPolicy is local with zero local endpoints', itp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], virtualServer: false, localEntries: false, realServers: [] },
];

for (const c of itpCases) {
  test(`TestTestInternalTrafficPolicyE2E: ${c.name}`, (t) => {
    const endpoints = slice(c.endpoints.map(([ip, host]) => ({ addresses: [ip], conditions: { ready: true }, nodeName: host })));
    const node = new FakeNode().addServices(svc1(unnamedPort, { internalTrafficPolicy: c.itp })).addSlices(endpoints);
    node.sync();
    t.is(node.ipset(SET.loopBack).length, c.localEntries ? 1 : 0);
    // Upstream checks the virtual server only where the case expects one.
    if (c.virtualServer) t.deepEqual(Object.values(node.ipvs()).map((v) => v.dests), [c.realServers]);
    node.builder.onEndpointSliceChange(endpoints, true);
    node.sync();
    t.deepEqual(node.ipset(SET.loopBack), []);
    t.deepEqual(Object.values(node.ipvs()).map((v) => v.dests), [[]]);
  });
}

// The four Test_EndpointSlice*Terminating* cases: a NodePort service with
// external IP 1.2.3.4; which endpoints the cluster IP and the external IP get.
type Conditions = [ip: string, ready: boolean, serving: boolean, terminating: boolean, host: string];
const terminatingCases: Array<{ name: string; etp: 'Cluster' | 'Local'; endpoints: Conditions[]; loopBack: string[]; clusterIP: string[]; externalIP: string[] }> = [
  {
    name: 'Test_EndpointSliceReadyAndTerminatingCluster', etp: 'Cluster',
    endpoints: [['10.0.1.1', true, true, false, testHostname], ['10.0.1.2', true, true, false, testHostname], ['10.0.1.3', false, true, true, testHostname], ['10.0.1.4', false, false, true, testHostname], ['10.0.1.5', true, true, false, 'another-host']],
    loopBack: ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'], clusterIP: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.5:80'], externalIP: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.5:80'],
  },
  {
    name: 'Test_EndpointSliceReadyAndTerminatingLocal', etp: 'Local',
    endpoints: [['10.0.1.1', true, true, false, testHostname], ['10.0.1.2', true, true, false, testHostname], ['10.0.1.3', false, true, true, testHostname], ['10.0.1.4', false, false, true, testHostname], ['10.0.1.5', true, true, false, 'another-host']],
    loopBack: ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'], clusterIP: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.5:80'], externalIP: ['10.0.1.1:80', '10.0.1.2:80'],
  },
  {
    name: 'Test_EndpointSliceOnlyReadyAndTerminatingCluster', etp: 'Cluster',
    endpoints: [['10.0.1.1', false, true, true, testHostname], ['10.0.1.2', false, true, true, testHostname], ['10.0.1.3', false, false, true, testHostname], ['10.0.1.4', false, true, true, 'another-host'], ['10.0.1.5', false, false, false, 'another-host']],
    loopBack: ['10.0.1.1', '10.0.1.2', '10.0.1.3'], clusterIP: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.4:80'], externalIP: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.4:80'],
  },
  {
    name: 'Test_EndpointSliceOnlyReadyAndTerminatingLocal', etp: 'Local',
    endpoints: [['10.0.1.1', false, true, true, testHostname], ['10.0.1.2', false, true, true, testHostname], ['10.0.1.3', false, false, true, testHostname], ['10.0.1.4', false, true, true, 'another-host'], ['10.0.1.5', true, true, false, 'another-host']],
    loopBack: ['10.0.1.1', '10.0.1.2', '10.0.1.3'], clusterIP: ['10.0.1.5:80'], externalIP: ['10.0.1.1:80', '10.0.1.2:80'],
  },
];

for (const c of terminatingCases) {
  test(c.name, (t) => {
    const service = svc1([{ name: '', port: 80, targetPort: 80, protocol: 'TCP' }], { type: 'NodePort', externalTrafficPolicy: c.etp, internalTrafficPolicy: 'Cluster', externalIPs: ['1.2.3.4'] });
    const endpoints = slice(c.endpoints.map(([ip, ready, serving, terminating, host]) => ({ addresses: [ip], conditions: { ready, serving, terminating }, nodeName: host })));
    const node = new FakeNode().addServices(service).addSlices(endpoints);
    node.sync();
    t.deepEqual(node.ipset(SET.loopBack), c.loopBack.map((ip) => `${ip},tcp:80,${ip}`));
    const ipvs = node.ipvs();
    t.is(Object.keys(ipvs).length, 2);
    t.deepEqual(ipvs['172.20.1.1:80/TCP']?.dests, c.clusterIP);
    t.deepEqual(ipvs['1.2.3.4:80/TCP']?.dests, c.externalIP);
    node.builder.onEndpointSliceChange(endpoints, true);
    node.sync();
    t.deepEqual(node.ipset(SET.loopBack), []);
    t.deepEqual(Object.values(node.ipvs()).map((v) => v.dests), [[], []]);
  });
}

// TestNoEndpointsMetric: the services whose Local policy finds endpoints
// elsewhere and none here. Ferry computes it once for every mode
// (countNoLocalEndpoints, published by the proxy loop after each sync).
const metricCases: Array<{ name: string; itp?: 'Local'; etp?: 'Local'; endpoints: Array<[string, string]>; internal?: number; external?: number }> = [
  { name: 'internalTrafficPolicy is set and there are local endpoints', itp: 'Local', endpoints: [['10.0.1.1', testHostname], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'externalTrafficPolicy is set and there are local endpoints', etp: 'Local', endpoints: [['10.0.1.1', testHostname], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'both policies are set and there are local endpoints', itp: 'Local', etp: 'Local', endpoints: [['10.0.1.1', testHostname], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'internalTrafficPolicy is set and there are no local endpoints', itp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], internal: 1 },
  { name: 'externalTrafficPolicy is set and there are no local endpoints', etp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], external: 1 },
  { name: 'Both policies are set and there are no local endpoints', itp: 'Local', etp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], internal: 1, external: 1 },
  { name: 'Both policies are set and there are no endpoints at all', itp: 'Local', etp: 'Local', endpoints: [] },
];

for (const c of metricCases) {
  test(`TestNoEndpointsMetric: ${c.name}`, (t) => {
    const service = svc1([{ name: 'p80', port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30000 }], {
      ...(c.itp ? { internalTrafficPolicy: c.itp } : {}),
      ...(c.etp ? { type: 'NodePort', externalTrafficPolicy: c.etp } : {}),
    });
    const endpoints: EndpointSlice = slice(c.endpoints.map(([ip, host]) => ({ addresses: [ip], conditions: { ready: true }, nodeName: host })), 'p80');
    const node = new FakeNode({ hostAddresses: ['10.0.0.1'] }).addServices(service).addSlices(endpoints);
    const state = node.builder.build();
    const counts = countNoLocalEndpoints(state.services.values(), (key) => state.endpoints.get(key) ?? []);
    t.deepEqual(counts, { internal: c.internal ?? 0, external: c.external ?? 0 });
  });
}
