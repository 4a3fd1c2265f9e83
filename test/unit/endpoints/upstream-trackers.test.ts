import test from 'ava';
import { buildServiceMapAddRemove, buildServiceMapServiceUpdate, buildServiceMapSkipped, make, port } from './upstream-tracker-cases.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

// kube-proxy's TestBuildServiceMap* and TestUpdateEndpointsMap (pkg/proxy/iptables/proxier_test.go at
// aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212; the list
// of every upstream test is in test/unit/iptables/upstream/kube-proxy.ts):
// the service ports the tracker keeps, the UDP cluster IPs it reports for a
// conntrack flush, and the health check node ports, through Ferry's trackers.

test('TestBuildServiceMapAddRemove', (t) => {
  const services = [
    make('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [port('something', 'UDP', 1234, 4321), port('somethingelse', 'UDP', 1235, 5321), port('sctpport', 'SCTP', 1236, 6321)] }),
    make('somewhere-else', 'node-port', { type: 'NodePort', clusterIP: '172.30.55.10', ports: [port('blahblah', 'UDP', 345, 678), port('moreblahblah', 'TCP', 344, 677), port('muchmoreblah', 'SCTP', 343, 676)] }),
    make('somewhere', 'load-balancer', { type: 'LoadBalancer', clusterIP: '172.30.55.11', loadBalancerIP: '1.2.3.4', ports: [port('foobar', 'UDP', 8675, 30061, 7000), port('baz', 'UDP', 8676, 30062, 7001)] }, '1.2.3.4'),
    make('somewhere', 'only-local-load-balancer', {
      type: 'LoadBalancer', clusterIP: '172.30.55.12', loadBalancerIP: '5.6.7.8', externalTrafficPolicy: 'Local', healthCheckNodePort: 345,
      ports: [port('foobar2', 'UDP', 8677, 30063, 7002), port('baz', 'UDP', 8678, 30064, 7003)],
    }, '5.6.7.8'),
  ];
  // Upstream also expects 172.30.55.4, whose "something" UDP port went; Ferry
  // leaves it out on purpose, as its "somethingelse" UDP port still serves it
  // (a flush by IP would cut that port's live flows).
  buildServiceMapAddRemove(t, 'test-hostname', services, 10, make('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [port('somethingelse', 'UDP', 1235, 5321)] }), ['172.30.55.10', '172.30.55.11', '172.30.55.12']);
});

test('TestBuildServiceMapServiceHeadless', (t) => {
  buildServiceMapSkipped(t, 'test-hostname', [
    make('somewhere-else', 'headless', { type: 'ClusterIP', clusterIP: 'None', ports: [port('rpc', 'UDP', 1234, 0)] }),
    make('somewhere-else', 'headless-without-port', { type: 'ClusterIP', clusterIP: 'None' }),
  ]);
});

test('TestBuildServiceMapServiceTypeExternalName', (t) => {
  buildServiceMapSkipped(t, 'test-hostname', [
    make('somewhere-else', 'external-name', { type: 'ExternalName', clusterIP: '172.30.55.4', externalName: 'foo2.bar.com', ports: [port('blah', 'UDP', 1235, 5321)] }),
  ]);
});

test('TestBuildServiceMapServiceUpdate', (t) => {
  const v1 = make('somewhere', 'some-service', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [port('something', 'UDP', 1234, 4321), port('somethingelse', 'TCP', 1235, 5321)] });
  const v2 = make('somewhere', 'some-service', {
    type: 'LoadBalancer', clusterIP: '172.30.55.4', loadBalancerIP: '1.2.3.4', externalTrafficPolicy: 'Local', healthCheckNodePort: 345,
    ports: [port('something', 'UDP', 1234, 4321, 7002), port('somethingelse', 'TCP', 1235, 5321, 7003)],
  }, '1.2.3.4');
  buildServiceMapServiceUpdate(t, 'test-hostname', v1, v2);
});

// TestUpdateEndpointsMap: slices added, updated and deleted between two
// applications of the tracker; after each, the endpoints per service port
// (`ip:port`, local or not), and after the second the UDP endpoints reported
// deleted, the UDP service ports newly active, and the ready local endpoints
// per service (LocalReadyEndpoints, what health check node ports count).
type Eps = Array<[ip: string, local?: boolean]>;
const udpSlice = (ns: string, name: string, num: number, endpoints: Eps, ports: Array<[string, number]>): EndpointSlice => ({
  metadata: { namespace: ns, name: `${name}-${num}`, labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  endpoints: endpoints.map(([ip, local]) => ({ addresses: [ip], ...(local ? { nodeName: 'test-hostname' } : {}) })),
  ports: ports.map(([n, p]) => ({ name: n, port: p, protocol: 'UDP' })),
});
const subset1 = (num = 1) => udpSlice('ns1', 'ep1', num, [['10.1.1.1']], [['p11', 11]]);
const subset2 = (num = 2) => udpSlice('ns1', 'ep1', num, [['10.1.1.2']], [['p12', 12]]);
const namedPortLocal = [udpSlice('ns1', 'ep1', 1, [['10.1.1.1', true]], [['p11', 11]])];
const namedPort = [subset1()];
const namedPortRenamed = [udpSlice('ns1', 'ep1', 1, [['10.1.1.1']], [['p11-2', 11]])];
const namedPortRenumbered = [udpSlice('ns1', 'ep1', 1, [['10.1.1.1']], [['p11', 22]])];
const namedPortsLocalNoLocal = [udpSlice('ns1', 'ep1', 1, [['10.1.1.1'], ['10.1.1.2', true]], [['p11', 11], ['p12', 12]])];
const multipleSubsets = [subset1(), subset2()];
const multipleSubsetsWithLocal = [subset1(), udpSlice('ns1', 'ep1', 2, [['10.1.1.2', true]], [['p12', 12]])];
const multipleSubsetsMultiplePortsLocal = [udpSlice('ns1', 'ep1', 1, [['10.1.1.1', true]], [['p11', 11], ['p12', 12]]), udpSlice('ns1', 'ep1', 2, [['10.1.1.3']], [['p13', 13]])];
const multipleSubsetsIPsPorts = [
  udpSlice('ns1', 'ep1', 1, [['10.1.1.1'], ['10.1.1.2', true]], [['p11', 11], ['p12', 12]]),
  udpSlice('ns1', 'ep1', 2, [['10.1.1.3'], ['10.1.1.4', true]], [['p13', 13], ['p14', 14]]),
  udpSlice('ns2', 'ep2', 1, [['10.2.2.1'], ['10.2.2.2', true]], [['p21', 21], ['p22', 22]]),
];
const complexBefore = [
  subset1(), undefined,
  udpSlice('ns2', 'ep2', 1, [['10.2.2.2', true], ['10.2.2.22', true]], [['p22', 22]]), udpSlice('ns2', 'ep2', 2, [['10.2.2.3', true]], [['p23', 23]]), undefined,
  udpSlice('ns4', 'ep4', 1, [['10.4.4.4', true], ['10.4.4.5', true]], [['p44', 44]]), udpSlice('ns4', 'ep4', 2, [['10.4.4.6', true]], [['p45', 45]]),
];
const complexAfter = [
  udpSlice('ns1', 'ep1', 1, [['10.1.1.1'], ['10.1.1.11']], [['p11', 11]]), udpSlice('ns1', 'ep1', 2, [['10.1.1.2']], [['p12', 12], ['p122', 122]]),
  undefined, undefined,
  udpSlice('ns3', 'ep3', 1, [['10.3.3.3']], [['p33', 33]]), udpSlice('ns4', 'ep4', 1, [['10.4.4.4', true]], [['p44', 44]]), undefined,
];
const emptyEndpointSlices: EndpointSlice[] = [{ metadata: { namespace: 'ns1', name: 'ep1-1', labels: { 'kubernetes.io/service-name': 'ep1' } }, addressType: '', endpoints: [] }];

/** Expected endpoints per service port key: `ip:port` with an `L` suffix when local. */
type Expected = Record<string, string[]>;
const endpointCases: Array<{
  name: string; previous: Array<EndpointSlice | undefined>; current: Array<EndpointSlice | undefined>; old: Expected; result: Expected;
  deleted?: string[]; newlyActive?: string[]; local?: Record<string, number>;
}> = [
  { name: 'nothing', previous: [], current: [], old: {}, result: {} },
  { name: 'no change, named port, local', previous: namedPortLocal, current: namedPortLocal, old: { 'ns1/ep1:p11': ['10.1.1.1:11 L'] }, result: { 'ns1/ep1:p11': ['10.1.1.1:11 L'] }, local: { 'ns1/ep1': 1 } },
  {
    name: 'no change, multiple subsets', previous: multipleSubsets, current: multipleSubsets,
    old: { 'ns1/ep1:p11': ['10.1.1.1:11'], 'ns1/ep1:p12': ['10.1.1.2:12'] }, result: { 'ns1/ep1:p11': ['10.1.1.1:11'], 'ns1/ep1:p12': ['10.1.1.2:12'] },
  },
  {
    name: 'no change, multiple subsets, multiple ports, local', previous: multipleSubsetsMultiplePortsLocal, current: multipleSubsetsMultiplePortsLocal,
    old: { 'ns1/ep1:p11': ['10.1.1.1:11 L'], 'ns1/ep1:p12': ['10.1.1.1:12 L'], 'ns1/ep1:p13': ['10.1.1.3:13'] },
    result: { 'ns1/ep1:p11': ['10.1.1.1:11 L'], 'ns1/ep1:p12': ['10.1.1.1:12 L'], 'ns1/ep1:p13': ['10.1.1.3:13'] }, local: { 'ns1/ep1': 1 },
  },
  ((): (typeof endpointCases)[number] => {
    const all: Expected = {
      'ns1/ep1:p11': ['10.1.1.1:11', '10.1.1.2:11 L'], 'ns1/ep1:p12': ['10.1.1.1:12', '10.1.1.2:12 L'], 'ns1/ep1:p13': ['10.1.1.3:13', '10.1.1.4:13 L'],
      'ns1/ep1:p14': ['10.1.1.3:14', '10.1.1.4:14 L'], 'ns2/ep2:p21': ['10.2.2.1:21', '10.2.2.2:21 L'], 'ns2/ep2:p22': ['10.2.2.1:22', '10.2.2.2:22 L'],
    };
    return { name: 'no change, multiple endpoints, subsets, IPs, and ports', previous: multipleSubsetsIPsPorts, current: multipleSubsetsIPsPorts, old: all, result: all, local: { 'ns1/ep1': 2, 'ns2/ep2': 1 } };
  })(),
  { name: 'add an Endpoints', previous: [undefined], current: namedPortLocal, old: {}, result: { 'ns1/ep1:p11': ['10.1.1.1:11 L'] }, newlyActive: ['ns1/ep1:p11'], local: { 'ns1/ep1': 1 } },
  { name: 'remove an Endpoints', previous: namedPortLocal, current: [undefined], old: { 'ns1/ep1:p11': ['10.1.1.1:11 L'] }, result: {}, deleted: ['ns1/ep1:p11 10.1.1.1:11'] },
  {
    name: 'add an IP and port', previous: namedPort, current: namedPortsLocalNoLocal, old: { 'ns1/ep1:p11': ['10.1.1.1:11'] },
    result: { 'ns1/ep1:p11': ['10.1.1.1:11', '10.1.1.2:11 L'], 'ns1/ep1:p12': ['10.1.1.1:12', '10.1.1.2:12 L'] }, newlyActive: ['ns1/ep1:p12'], local: { 'ns1/ep1': 1 },
  },
  {
    name: 'remove an IP and port', previous: namedPortsLocalNoLocal, current: namedPort,
    old: { 'ns1/ep1:p11': ['10.1.1.1:11', '10.1.1.2:11 L'], 'ns1/ep1:p12': ['10.1.1.1:12', '10.1.1.2:12 L'] }, result: { 'ns1/ep1:p11': ['10.1.1.1:11'] },
    deleted: ['ns1/ep1:p11 10.1.1.2:11', 'ns1/ep1:p12 10.1.1.1:12', 'ns1/ep1:p12 10.1.1.2:12'],
  },
  {
    name: 'add a subset', previous: [namedPort[0], undefined], current: multipleSubsetsWithLocal, old: { 'ns1/ep1:p11': ['10.1.1.1:11'] },
    result: { 'ns1/ep1:p11': ['10.1.1.1:11'], 'ns1/ep1:p12': ['10.1.1.2:12 L'] }, newlyActive: ['ns1/ep1:p12'], local: { 'ns1/ep1': 1 },
  },
  {
    name: 'remove a subset', previous: multipleSubsets, current: [namedPort[0], undefined], old: { 'ns1/ep1:p11': ['10.1.1.1:11'], 'ns1/ep1:p12': ['10.1.1.2:12'] },
    result: { 'ns1/ep1:p11': ['10.1.1.1:11'] }, deleted: ['ns1/ep1:p12 10.1.1.2:12'],
  },
  {
    name: 'rename a port', previous: namedPort, current: namedPortRenamed, old: { 'ns1/ep1:p11': ['10.1.1.1:11'] }, result: { 'ns1/ep1:p11-2': ['10.1.1.1:11'] },
    deleted: ['ns1/ep1:p11 10.1.1.1:11'], newlyActive: ['ns1/ep1:p11-2'],
  },
  {
    name: 'renumber a port', previous: namedPort, current: namedPortRenumbered, old: { 'ns1/ep1:p11': ['10.1.1.1:11'] }, result: { 'ns1/ep1:p11': ['10.1.1.1:22'] },
    deleted: ['ns1/ep1:p11 10.1.1.1:11'],
  },
  {
    name: 'complex add and remove', previous: complexBefore, current: complexAfter,
    old: {
      'ns1/ep1:p11': ['10.1.1.1:11'], 'ns2/ep2:p22': ['10.2.2.22:22 L', '10.2.2.2:22 L'], 'ns2/ep2:p23': ['10.2.2.3:23 L'],
      'ns4/ep4:p44': ['10.4.4.4:44 L', '10.4.4.5:44 L'], 'ns4/ep4:p45': ['10.4.4.6:45 L'],
    },
    result: {
      'ns1/ep1:p11': ['10.1.1.11:11', '10.1.1.1:11'], 'ns1/ep1:p12': ['10.1.1.2:12'], 'ns1/ep1:p122': ['10.1.1.2:122'], 'ns3/ep3:p33': ['10.3.3.3:33'], 'ns4/ep4:p44': ['10.4.4.4:44 L'],
    },
    deleted: ['ns2/ep2:p22 10.2.2.2:22', 'ns2/ep2:p22 10.2.2.22:22', 'ns2/ep2:p23 10.2.2.3:23', 'ns4/ep4:p44 10.4.4.5:44', 'ns4/ep4:p45 10.4.4.6:45'],
    newlyActive: ['ns1/ep1:p12', 'ns1/ep1:p122', 'ns3/ep3:p33'], local: { 'ns4/ep4': 1 },
  },
  { name: 'change from 0 endpoint address to 1 unnamed port', previous: emptyEndpointSlices, current: namedPort, old: {}, result: { 'ns1/ep1:p11': ['10.1.1.1:11'] }, newlyActive: ['ns1/ep1:p11'] },
];

const endpointsOf = (state: ProxyState): Expected =>
  Object.fromEntries([...state.endpoints].map(([key, eps]) => [key, eps.map((e) => `${e.ip}:${e.port}${e.isLocal ? ' L' : ''}`).sort()]));
const sortedValues = (e: Expected): Expected => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, [...v].sort()]));
/** localReadyEndpoints is upstream's EndpointsMap.LocalReadyEndpoints: per service, its ready local endpoint IPs. */
function localReadyEndpoints(state: ProxyState): Record<string, number> {
  const ips = new Map<string, Set<string>>();
  for (const [key, eps] of state.endpoints) {
    const service = key.slice(0, key.lastIndexOf(':'));
    for (const e of eps) if (e.ready && e.isLocal) ips.set(service, (ips.get(service) ?? new Set()).add(e.ip));
  }
  return Object.fromEntries([...ips].map(([s, set]) => [s, set.size]));
}

for (const tc of endpointCases) {
  test(`TestUpdateEndpointsMap: ${tc.name}`, (t) => {
    const b = new ProxyStateBuilder('test-hostname');
    for (const s of tc.previous) if (s) b.onEndpointSliceChange(s, false);
    t.deepEqual(endpointsOf(b.build()), sortedValues(tc.old), 'after the previous slices');
    b.syncSucceeded();
    tc.previous.forEach((prev, i) => {
      const cur = tc.current[i];
      if (cur) b.onEndpointSliceChange(cur, false);
      else if (prev) b.onEndpointSliceChange(prev, true);
    });
    const state = b.build();
    t.deepEqual(endpointsOf(state), sortedValues(tc.result));
    t.deepEqual(state.udpConntrack.deletedEndpoints.map((d) => `${d.serviceKey} ${d.endpoint}`).sort(), [...(tc.deleted ?? [])].sort(), 'deleted UDP endpoints');
    t.deepEqual([...state.udpConntrack.newlyActiveServices].sort(), [...(tc.newlyActive ?? [])].sort(), 'newly active UDP services');
    t.deepEqual(localReadyEndpoints(state), tc.local ?? {}, 'local ready endpoints');
  });
}
