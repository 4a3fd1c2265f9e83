import test from 'ava';
import type { Service, ServicePort as ApiServicePort } from 'kubernetes-types/core/v1.js';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';

// kube-proxy's TestBuildServiceMap* (pkg/proxy/iptables/proxier_test.go at
// aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212; the list
// of every upstream test is in test/unit/iptables/upstream/kube-proxy.ts):
// the service ports the tracker keeps, the UDP cluster IPs it reports for a
// conntrack flush, and the health check node ports, through Ferry's trackers.

const port = (name: string, protocol: string, p: number, nodePort: number, targetPort = 0): ApiServicePort => ({ name, protocol, port: p, nodePort, targetPort });
const make = (namespace: string, name: string, spec: Service['spec'], lbIP?: string): Service => ({
  metadata: { namespace, name }, spec, ...(lbIP ? { status: { loadBalancer: { ingress: [{ ip: lbIP }] } } } : {}),
});
/** healthCheckNodePorts is upstream's svcPortMap.HealthCheckNodePorts(): per service, its port. */
const healthCheckNodePorts = (state: ProxyState) =>
  Object.fromEntries([...state.services.values()].filter((s) => s.healthCheckNodePort > 0).map((s) => [`${s.namespace}/${s.name}`, s.healthCheckNodePort]));

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
  const b = new ProxyStateBuilder('test-hostname');
  for (const s of services) b.onServiceChange(undefined, s);
  let state = b.build();
  t.is(state.services.size, 10);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!], [], 'services only added, so nothing stale yet');
  t.deepEqual(healthCheckNodePorts(state), { 'somewhere/only-local-load-balancer': 345 });
  b.syncSucceeded();

  // services[0] loses its first port; the other three are deleted.
  b.onServiceChange(services[0], make('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [port('somethingelse', 'UDP', 1235, 5321)] }));
  for (const s of services.slice(1)) b.onServiceChange(s, undefined);
  state = b.build();
  t.is(state.services.size, 1);
  // Upstream also expects 172.30.55.4, whose "something" UDP port went; Ferry
  // leaves it out on purpose, as its "somethingelse" UDP port still serves it
  // (a flush by IP would cut that port's live flows).
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!].sort(), ['172.30.55.10', '172.30.55.11', '172.30.55.12']);
  t.deepEqual(healthCheckNodePorts(state), {});
});

test('TestBuildServiceMapServiceHeadless', (t) => {
  const b = new ProxyStateBuilder('test-hostname');
  b.onServiceChange(undefined, make('somewhere-else', 'headless', { type: 'ClusterIP', clusterIP: 'None', ports: [port('rpc', 'UDP', 1234, 0)] }));
  b.onServiceChange(undefined, make('somewhere-else', 'headless-without-port', { type: 'ClusterIP', clusterIP: 'None' }));
  const state = b.build();
  t.is(state.services.size, 0);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!], []);
  t.deepEqual(healthCheckNodePorts(state), {});
});

test('TestBuildServiceMapServiceTypeExternalName', (t) => {
  const b = new ProxyStateBuilder('test-hostname');
  b.onServiceChange(undefined, make('somewhere-else', 'external-name', { type: 'ExternalName', clusterIP: '172.30.55.4', externalName: 'foo2.bar.com', ports: [port('blah', 'UDP', 1235, 5321)] }));
  const state = b.build();
  t.is(state.services.size, 0);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!], []);
  t.deepEqual(healthCheckNodePorts(state), {});
});

test('TestBuildServiceMapServiceUpdate', (t) => {
  const v1 = make('somewhere', 'some-service', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [port('something', 'UDP', 1234, 4321), port('somethingelse', 'TCP', 1235, 5321)] });
  const v2 = make('somewhere', 'some-service', {
    type: 'LoadBalancer', clusterIP: '172.30.55.4', loadBalancerIP: '1.2.3.4', externalTrafficPolicy: 'Local', healthCheckNodePort: 345,
    ports: [port('something', 'UDP', 1234, 4321, 7002), port('somethingelse', 'TCP', 1235, 5321, 7003)],
  }, '1.2.3.4');
  const b = new ProxyStateBuilder('test-hostname');
  const step = (previous: Service | undefined, current: Service, hc: Record<string, number>, what: string) => {
    b.onServiceChange(previous, current);
    const state = b.build();
    t.is(state.services.size, 2, what);
    t.deepEqual([...state.udpConntrack.deletedClusterIPs!], [], `${what}: no stale UDP cluster IPs`);
    t.deepEqual(healthCheckNodePorts(state), hc, what);
    b.syncSucceeded();
  };
  step(undefined, v1, {}, 'added as ClusterIP');
  step(v1, v2, { 'somewhere/some-service': 345 }, 'changed to LoadBalancer');
  step(v2, v2, { 'somewhere/some-service': 345 }, 'no change');
  step(v2, v1, {}, 'back to ClusterIP');
});
