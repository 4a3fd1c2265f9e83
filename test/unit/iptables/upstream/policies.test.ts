import test, { type ExecutionContext } from 'ava';
import type { Endpoint, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { svc } from '../fixtures.ts';
import { local, remote, runPacketFlowTests, sync, testExternalClient, testNodeIP, upstreamOptions, type PacketFlowTest } from './kube-proxy.ts';

// kube-proxy's packet-flow tables for traffic policies, terminating
// endpoints and masquerading (source in kube-proxy.ts): TestInternalTrafficPolicy,
// TestTerminatingEndpointsTrafficPolicyLocal/Cluster, TestInternalExternalMasquerade.
// Each upstream case also deletes the endpoints and expects REJECT; so do these.

const unnamed = (over: Partial<ServicePort>) => svc('ns1', 'svc1', { portName: '', clusterIPs: ['172.30.1.1'], ...over });
const state = (ready: boolean, serving: boolean, terminating: boolean) => ({ ready, serving, terminating });

async function runWithAndWithout(t: ExecutionContext, service: ServicePort, endpoints: Endpoint[], flows: PacketFlowTest[], deletedFlows: PacketFlowTest[]) {
  runPacketFlowTests(t, (await sync([[service, endpoints]])).ipt, flows);
  runPacketFlowTests(t, (await sync([[service, []]])).ipt, deletedFlows);
}

const podToClusterIP = (output: string, masq = false): PacketFlowTest => ({ name: 'pod to ClusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output, masq });
const externalToLB = (output: string, masq = false): PacketFlowTest => ({ name: 'external to LB', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output, masq });

const itpCases: Array<{ name: string; policy: 'Cluster' | 'Local'; endpoints: Array<[string, boolean]>; output: string }> = [
  { name: 'internalTrafficPolicy is cluster', policy: 'Cluster', endpoints: [['10.0.1.1', true], ['10.0.1.2', false], ['10.0.1.3', false]], output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80' },
  { name: 'internalTrafficPolicy is local and there is one local endpoint', policy: 'Local', endpoints: [['10.0.1.1', true], ['10.0.1.2', false], ['10.0.1.3', false]], output: '10.0.1.1:80' },
  { name: 'internalTrafficPolicy is local and there are multiple local endpoints', policy: 'Local', endpoints: [['10.0.1.1', true], ['10.0.1.2', true], ['10.0.1.3', false]], output: '10.0.1.1:80, 10.0.1.2:80' },
  { name: 'internalTrafficPolicy is local and there are no local endpoints', policy: 'Local', endpoints: [['10.0.1.1', false], ['10.0.1.2', false], ['10.0.1.3', false]], output: 'DROP' },
];
for (const tc of itpCases) {
  test(`TestInternalTrafficPolicy: ${tc.name}`, async (t) => {
    const eps = tc.endpoints.map(([ip, isLocal]) => (isLocal ? local(ip) : remote(ip)));
    await runWithAndWithout(t, unnamed({ internalTrafficPolicy: tc.policy }), eps, [podToClusterIP(tc.output)], [podToClusterIP('REJECT')]);
  });
}

// The endpoints of the terminating-endpoints cases: [ip, local, ready, serving, terminating].
type Ep = [string, boolean, boolean, boolean, boolean];
const build = (eps: Ep[]) => eps.map(([ip, isLocal, r, s, term]) => (isLocal ? local(ip, 80, state(r, s, term)) : remote(ip, 80, state(r, s, term))));
const terminatingCases: Array<{ policy: 'Local' | 'Cluster'; name: string; eps: Ep[]; flows: PacketFlowTest[] }> = [
  {
    policy: 'Local', name: 'ready endpoints exist',
    eps: [['10.0.1.1', true, true, true, false], ['10.0.1.2', true, true, true, false], ['10.0.1.3', true, false, true, true], ['10.0.1.4', true, false, false, true], ['10.0.1.5', false, true, true, false]],
    flows: [podToClusterIP('10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80'), externalToLB('10.0.1.1:80, 10.0.1.2:80')],
  },
  {
    policy: 'Local', name: 'only terminating endpoints exist',
    eps: [['10.0.1.2', true, false, true, true], ['10.0.1.3', true, false, true, true], ['10.0.1.4', true, false, false, true], ['10.0.1.5', false, true, true, false]],
    flows: [podToClusterIP('10.0.1.5:80'), externalToLB('10.0.1.2:80, 10.0.1.3:80')],
  },
  {
    policy: 'Local', name: 'terminating endpoints on remote node',
    eps: [['10.0.1.5', false, false, true, true]],
    flows: [podToClusterIP('10.0.1.5:80'), { ...externalToLB('DROP'), name: 'external to LB, no locally-usable endpoints' }],
  },
  {
    policy: 'Local', name: 'no usable endpoints on any node',
    eps: [['10.0.1.5', true, false, false, true], ['10.0.1.5', false, false, false, true]],
    flows: [podToClusterIP('REJECT'), externalToLB('REJECT')],
  },
  {
    policy: 'Cluster', name: 'ready endpoints exist',
    eps: [['10.0.1.1', true, true, true, false], ['10.0.1.2', true, true, true, false], ['10.0.1.3', false, false, true, true], ['10.0.1.4', false, false, false, true], ['10.0.1.5', false, true, true, false]],
    flows: [podToClusterIP('10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80'), externalToLB('10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80', true)],
  },
  {
    policy: 'Cluster', name: 'only terminating endpoints exist',
    eps: [['10.0.1.2', true, false, true, true], ['10.0.1.3', true, false, true, true], ['10.0.1.4', false, false, false, true], ['10.0.1.5', false, false, true, true]],
    flows: [podToClusterIP('10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80'), externalToLB('10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80', true)],
  },
  {
    policy: 'Cluster', name: 'terminating endpoints on remote node',
    eps: [['10.0.1.5', false, false, true, true]],
    flows: [podToClusterIP('10.0.1.5:80'), externalToLB('10.0.1.5:80', true)],
  },
  {
    policy: 'Cluster', name: 'no usable endpoints on any node',
    eps: [['10.0.1.5', true, false, false, true], ['10.0.1.5', false, false, false, true]],
    flows: [podToClusterIP('REJECT'), externalToLB('REJECT')],
  },
];
for (const tc of terminatingCases) {
  test(`TestTerminatingEndpointsTrafficPolicy${tc.policy}: ${tc.name}`, async (t) => {
    const lb = unnamed({ type: 'LoadBalancer', externalTrafficPolicy: tc.policy, loadBalancerIPs: ['1.2.3.4'], healthCheckNodePort: tc.policy === 'Local' ? 30000 : 0 });
    await runWithAndWithout(t, lb, build(tc.eps), tc.flows, [podToClusterIP('REJECT'), externalToLB('REJECT')]);
  });
}

// TestInternalExternalMasquerade: one table of flows, four configurations with overrides.
const masqServices = (): Array<[ServicePort, Endpoint[]]> => [
  [svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIPs: ['172.30.0.41'], nodePort: 3001, loadBalancerIPs: ['1.2.3.4'] }), [local('10.180.0.1'), remote('10.180.1.1')]],
  [svc('ns2', 'svc2', { type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3002, healthCheckNodePort: 30002, externalTrafficPolicy: 'Local', loadBalancerIPs: ['5.6.7.8'] }), [local('10.180.0.2'), remote('10.180.1.2')]],
  [svc('ns3', 'svc3', { type: 'LoadBalancer', clusterIPs: ['172.30.0.43'], nodePort: 3003, internalTrafficPolicy: 'Local', loadBalancerIPs: ['9.10.11.12'] }), [local('10.180.0.3'), remote('10.180.1.3')]],
];
const a1 = '10.180.0.1:80, 10.180.1.1:80';
const a2 = '10.180.0.2:80, 10.180.1.2:80';
const a3 = '10.180.0.3:80, 10.180.1.3:80';
const f = (name: string, sourceIP: string, destIP: string, destPort: number, output: string, masq: boolean): PacketFlowTest => ({ name, sourceIP, destIP, destPort, output, masq });
const masqFlows: PacketFlowTest[] = [
  f('pod to ClusterIP', '10.0.0.2', '172.30.0.41', 80, a1, false),
  f('pod to NodePort', '10.0.0.2', testNodeIP, 3001, a1, true),
  f('pod to LB', '10.0.0.2', '1.2.3.4', 80, a1, true),
  f('node to ClusterIP', testNodeIP, '172.30.0.41', 80, a1, true),
  f('node to NodePort', testNodeIP, testNodeIP, 3001, a1, true),
  f('localhost to NodePort', '127.0.0.1', '127.0.0.1', 3001, a1, true),
  f('node to LB', testNodeIP, '1.2.3.4', 80, a1, true),
  f('external to ClusterIP', testExternalClient, '172.30.0.41', 80, a1, true),
  f('external to NodePort', testExternalClient, testNodeIP, 3001, a1, true),
  f('external to LB', testExternalClient, '1.2.3.4', 80, a1, true),
  f('pod to ClusterIP with eTP:Local', '10.0.0.2', '172.30.0.42', 80, a2, false),
  f('pod to NodePort with eTP:Local', '10.0.0.2', testNodeIP, 3002, a2, false),
  f('pod to LB with eTP:Local', '10.0.0.2', '5.6.7.8', 80, a2, false),
  f('node to ClusterIP with eTP:Local', testNodeIP, '172.30.0.42', 80, a2, true),
  // Upstream's row names eTP:Local but asks port 3001 (svc1); carried over as written.
  f('node to NodePort with eTP:Local', testNodeIP, testNodeIP, 3001, a1, true),
  f('localhost to NodePort with eTP:Local', '127.0.0.1', '127.0.0.1', 3002, a2, true),
  f('node to LB with eTP:Local', testNodeIP, '5.6.7.8', 80, a2, true),
  f('external to ClusterIP with eTP:Local', testExternalClient, '172.30.0.42', 80, a2, true),
  f('external to NodePort with eTP:Local', testExternalClient, testNodeIP, 3002, '10.180.0.2:80', false),
  f('external to LB with eTP:Local', testExternalClient, '5.6.7.8', 80, '10.180.0.2:80', false),
  f('pod to ClusterIP with iTP:Local', '10.0.0.2', '172.30.0.43', 80, '10.180.0.3:80', false),
  f('pod to NodePort with iTP:Local', '10.0.0.2', testNodeIP, 3003, a3, true),
  f('pod to LB with iTP:Local', '10.0.0.2', '9.10.11.12', 80, a3, true),
  f('node to ClusterIP with iTP:Local', testNodeIP, '172.30.0.43', 80, '10.180.0.3:80', true),
  f('node to NodePort with iTP:Local', testNodeIP, testNodeIP, 3003, a3, true),
  f('localhost to NodePort with iTP:Local', '127.0.0.1', '127.0.0.1', 3003, a3, true),
  f('node to LB with iTP:Local', testNodeIP, '9.10.11.12', 80, a3, true),
  f('external to ClusterIP with iTP:Local', testExternalClient, '172.30.0.43', 80, '10.180.0.3:80', true),
  f('external to NodePort with iTP:Local', testExternalClient, testNodeIP, 3003, a3, true),
  f('external to LB with iTP:Local', testExternalClient, '9.10.11.12', 80, a3, true),
];
type Override = { output?: string; masq?: boolean };
const noDetector: Record<string, Override> = {
  'node to ClusterIP': { masq: false }, 'node to ClusterIP with eTP:Local': { masq: false }, 'node to ClusterIP with iTP:Local': { masq: false },
  'external to ClusterIP': { masq: false }, 'external to ClusterIP with eTP:Local': { masq: false }, 'external to ClusterIP with iTP:Local': { masq: false },
  'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' }, 'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
};
const masqAll: Record<string, Override> = { 'pod to ClusterIP': { masq: true }, 'pod to ClusterIP with eTP:Local': { masq: true }, 'pod to ClusterIP with iTP:Local': { masq: true } };
const masqConfigs: Array<{ name: string; masqueradeAll: boolean; localDetector: boolean; overrides: Record<string, Override> }> = [
  { name: 'base', masqueradeAll: false, localDetector: true, overrides: {} },
  { name: 'no LocalTrafficDetector', masqueradeAll: false, localDetector: false, overrides: noDetector },
  { name: 'masqueradeAll', masqueradeAll: true, localDetector: true, overrides: masqAll },
  {
    name: 'masqueradeAll, no LocalTrafficDetector', masqueradeAll: true, localDetector: false,
    overrides: { ...masqAll, 'pod to NodePort with eTP:Local': noDetector['pod to NodePort with eTP:Local']!, 'pod to LB with eTP:Local': noDetector['pod to LB with eTP:Local']! },
  },
];
for (const tc of masqConfigs) {
  test(`TestInternalExternalMasquerade: ${tc.name}`, async (t) => {
    // No LocalTrafficDetector is Ferry without --cluster-cidr.
    const options = { ...upstreamOptions(), masqueradeAll: tc.masqueradeAll, clusterCIDRs: tc.localDetector ? ['10.0.0.0/8'] : [] };
    const { ipt } = await sync(masqServices(), options);
    runPacketFlowTests(t, ipt, masqFlows.map((fl) => ({ ...fl, ...tc.overrides[fl.name] })));
  });
}
