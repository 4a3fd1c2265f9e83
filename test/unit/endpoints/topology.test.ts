import test from 'ava';
import { categorizeEndpoints } from '../../../src/endpoints/topology.ts';
import type { Endpoint, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { servicePort } from '../../helpers/proxy-state-fixtures.ts';

const svc = (over: Partial<ServicePort> = {}): ServicePort => servicePort('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], ...over });

const ep = (ip: string, over: Partial<Endpoint> = {}): Endpoint => ({ ip, port: 80, ready: true, serving: true, terminating: false, isLocal: false, ...over });

const ips = (eps: readonly Endpoint[] | undefined) => eps?.map((e) => e.ip);

// Cases follow kube-proxy's TestCategorizeEndpoints (without topology hints).
const cases: Array<{ name: string; svc: ServicePort; eps: Endpoint[]; cluster: string[] | undefined; local: string[] | undefined; any: boolean }> = [
  { name: 'cluster policy uses ready endpoints', svc: svc(), eps: [ep('10.0.0.1'), ep('10.0.0.2', { ready: false, serving: false })], cluster: ['10.0.0.1'], local: undefined, any: true },
  { name: 'falls back to serving terminating endpoints', svc: svc(), eps: [ep('10.0.0.1', { ready: false, terminating: true }), ep('10.0.0.2', { ready: false, serving: false, terminating: true })], cluster: ['10.0.0.1'], local: undefined, any: true },
  { name: 'no endpoints at all', svc: svc(), eps: [], cluster: [], local: undefined, any: false },
  { name: 'internal Local keeps local only', svc: svc({ internalTrafficPolicy: 'Local' }), eps: [ep('10.0.0.1', { isLocal: true }), ep('10.0.0.2')], cluster: undefined, local: ['10.0.0.1'], any: true },
  { name: 'internal Local with only remote endpoints', svc: svc({ internalTrafficPolicy: 'Local' }), eps: [ep('10.0.0.2')], cluster: undefined, local: [], any: true },
  { name: 'external Local on NodePort uses both', svc: svc({ type: 'NodePort', nodePort: 30080, externalTrafficPolicy: 'Local' }), eps: [ep('10.0.0.1', { isLocal: true }), ep('10.0.0.2')], cluster: ['10.0.0.1', '10.0.0.2'], local: ['10.0.0.1'], any: true },
  { name: 'external Local ignored without external access', svc: svc({ externalTrafficPolicy: 'Local' }), eps: [ep('10.0.0.1', { isLocal: true })], cluster: ['10.0.0.1'], local: undefined, any: true },
];

for (const tc of cases) {
  test(tc.name, (t) => {
    const got = categorizeEndpoints(tc.svc, tc.eps);
    t.deepEqual(ips(got.cluster), tc.cluster);
    t.deepEqual(ips(got.local), tc.local);
    t.is(got.hasAnyEndpoints, tc.any);
  });
}
