import test from 'ava';
import { buildServiceMapAddRemove, buildServiceMapServiceUpdate, buildServiceMapSkipped, make, port } from '../../endpoints/upstream-tracker-cases.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { request } from 'undici';
import { ProxyStateBuilder } from '../../../../src/endpoints/state-builder.ts';
import { IpvsProxier } from '../../../../src/ipvs/proxier.ts';
import { freePort } from '../../../../src/util/free-port.ts';
import { proxyConfig } from '../../../helpers/proxy-state-fixtures.ts';
import { fakeNode } from '../fake-host.ts';
import { testHostname } from './kube-proxy.ts';

// The IPVS proxier tests' own versions of the tracker tests (source in
// kube-proxy.ts; they differ from the iptables proxier's by their SCTP ports
// and addresses): the service ports the tracker keeps, the UDP cluster IPs it
// reports for a conntrack flush, the health check node ports, and the ready
// local endpoints a health check node port counts, read off IpvsProxier's own.

test('TestBuildServiceMapAddRemove', (t) => {
  const services = [
    make('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.16.55.4', ports: [port('something', 'UDP', 1234, 4321), port('somethingelse', 'UDP', 1235, 5321), port('somesctp', 'SCTP', 1236, 6321)] }),
    make('somewhere-else', 'node-port', { type: 'NodePort', clusterIP: '172.16.55.10', ports: [port('blahblah', 'UDP', 345, 678), port('moreblahblah', 'TCP', 344, 677), port('sctpblah', 'SCTP', 343, 676)] }),
    make('somewhere', 'load-balancer', {
      type: 'LoadBalancer', clusterIP: '172.16.55.11', loadBalancerIP: '5.6.7.8', ports: [port('foobar', 'UDP', 8675, 30061, 7000), port('baz', 'UDP', 8676, 30062, 7001), port('sctpfoo', 'SCTP', 8677, 30063, 7002)],
    }, '10.1.2.4'),
    make('somewhere', 'only-local-load-balancer', {
      type: 'LoadBalancer', clusterIP: '172.16.55.12', loadBalancerIP: '5.6.7.8', externalTrafficPolicy: 'Local', healthCheckNodePort: 345,
      ports: [port('foobar2', 'UDP', 8677, 30063, 7002), port('baz', 'UDP', 8678, 30064, 7003), port('sctpbaz', 'SCTP', 8679, 30065, 7004)],
    }, '10.1.2.3'),
  ];
  // Upstream also expects 172.16.55.4, whose "something" UDP port went; Ferry
  // leaves it out on purpose, as its "somethingelse" UDP port still serves it
  // (a flush by IP would cut that port's live flows), as in the iptables port.
  buildServiceMapAddRemove(t, testHostname, services, 12, make('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.16.55.4', ports: [port('somethingelse', 'UDP', 1235, 5321)] }), ['172.16.55.10', '172.16.55.11', '172.16.55.12']);
});

test('TestBuildServiceMapServiceHeadless', (t) => {
  buildServiceMapSkipped(t, testHostname, [
    make('somewhere-else', 'headless', { type: 'ClusterIP', clusterIP: 'None', ports: [port('rpc', 'UDP', 1234, 0)] }),
    make('somewhere-else', 'headless-without-port', { type: 'ClusterIP', clusterIP: 'None' }),
    make('somewhere-else', 'headless-sctp', { type: 'ClusterIP', clusterIP: 'None', ports: [port('sip', 'SCTP', 1235, 0)] }),
  ]);
});

test('TestBuildServiceMapServiceTypeExternalName', (t) => {
  buildServiceMapSkipped(t, testHostname, [
    make('somewhere-else', 'external-name', { type: 'ExternalName', clusterIP: '172.16.55.4', externalName: 'foo2.bar.com', ports: [port('blah', 'UDP', 1235, 5321)] }),
  ]);
});

test('TestBuildServiceMapServiceUpdate', (t) => {
  const v1 = make('somewhere', 'some-service', { type: 'ClusterIP', clusterIP: '172.16.55.4', ports: [port('something', 'UDP', 1234, 4321), port('somethingelse', 'TCP', 1235, 5321)] });
  const v2 = make('somewhere', 'some-service', {
    type: 'LoadBalancer', clusterIP: '172.16.55.4', loadBalancerIP: '5.6.7.8', externalTrafficPolicy: 'Local', healthCheckNodePort: 345,
    ports: [port('something', 'UDP', 1234, 4321, 7002), port('somethingelse', 'TCP', 1235, 5321, 7003)],
  }, '10.1.2.3');
  buildServiceMapServiceUpdate(t, testHostname, v1, v2);
});

// Test_HealthCheckNodePortWhenTerminating: upstream counts the services with
// ready local endpoints (LocalReadyEndpoints) off a ClusterIP service; Ferry
// counts them for services with a health check node port, so the service is
// LoadBalancer with externalTrafficPolicy Local and the count is read from
// the health check node port IpvsProxier serves after its sync.
test('Test_HealthCheckNodePortWhenTerminating: only ready local endpoints count; all terminating fails the check', async (t) => {
  const hc = await freePort();
  const node = fakeNode();
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs', nodeName: testHostname }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1' });
  t.teardown(() => proxier.close());
  const service = make('ns1', 'svc1', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: hc, clusterIP: '172.20.1.1', selector: { foo: 'bar' }, ports: [{ name: '', port: 80, targetPort: 80, protocol: 'TCP' }] });
  type Conditions = { ready: boolean; serving?: boolean; terminating?: boolean };
  const slice = (endpoints: Array<[ip: string, conditions: Conditions, local: boolean]>): EndpointSlice => ({
    metadata: { namespace: 'ns1', name: 'svc1-1', labels: { 'kubernetes.io/service-name': 'svc1' } },
    addressType: 'IPv4', ports: [{ name: '', port: 80, protocol: 'TCP' }],
    endpoints: endpoints.map(([ip, conditions, local]) => ({ addresses: [ip], conditions, ...(local ? { nodeName: testHostname } : {}) })),
  });
  const b = new ProxyStateBuilder(testHostname);
  const check = async () => {
    t.like(await proxier.sync(b.build()), { ok: true });
    b.syncSucceeded();
    const r = await request(`http://127.0.0.1:${hc}/`);
    return { status: r.statusCode, localEndpoints: ((await r.body.json()) as { localEndpoints: number }).localEndpoints };
  };
  b.onServiceChange(undefined, service);
  // Two ready local, one ready elsewhere, one not ready (ignored): the service has ready local endpoints.
  const before = slice([['10.0.1.1', { ready: true }, true], ['10.0.1.2', { ready: true }, true], ['10.0.1.3', { ready: true }, false], ['10.0.1.4', { ready: false }, true]]);
  b.onEndpointSliceChange(before, false);
  t.deepEqual(await check(), { status: 200, localEndpoints: 2 });
  // All terminating: none ready, so no ready local endpoint.
  b.onEndpointSliceChange(slice([
    ['10.0.1.1', { ready: false, serving: true, terminating: false }, true], ['10.0.1.2', { ready: false, serving: true, terminating: true }, true],
    ['10.0.1.3', { ready: false, serving: true, terminating: true }, true], ['10.0.1.4', { ready: false, serving: false, terminating: true }, true],
  ]), false);
  t.deepEqual(await check(), { status: 503, localEndpoints: 0 });
});
