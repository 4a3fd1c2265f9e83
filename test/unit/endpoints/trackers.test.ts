import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { servicePorts } from '../../../src/endpoints/service-change-tracker.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';

// Test addresses: Service ClusterIPs 172.30.0.0/16, pod IPs 10.0.0.0/8, this node "node-a".

const service = (name: string, spec: Service['spec'], extra: Partial<Service> = {}): Service => ({
  metadata: { namespace: 'ns1', name, resourceVersion: '1' }, spec: { clusterIP: '172.30.0.41', clusterIPs: ['172.30.0.41'], ...spec }, ...extra,
});

const slice = (name: string, svc: string, eps: Array<[string, boolean?, string?]>, ports: Array<[string, number, string?]> = [['p80', 8080]], annotations?: Record<string, string>): EndpointSlice => ({
  metadata: { namespace: 'ns1', name, labels: { 'kubernetes.io/service-name': svc }, annotations },
  addressType: 'IPv4',
  ports: ports.map(([n, port, protocol]) => ({ name: n, port, protocol: protocol ?? 'TCP' })),
  endpoints: eps.map(([ip, ready, nodeName]) => ({ addresses: [ip], conditions: { ready: ready ?? true }, nodeName })),
});

const portCases: Array<{ name: string; svc: Service; want: Record<string, unknown>[] }> = [
  { name: 'headless is skipped', svc: service('h', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] }), want: [] },
  { name: 'ExternalName is skipped', svc: service('e', { type: 'ExternalName', externalName: 'x.example', ports: [{ port: 80 }] }), want: [] },
  { name: 'IPv6-only is not this family', svc: service('v6', { clusterIP: 'fd00::1', clusterIPs: ['fd00::1'], ports: [{ port: 80 }] }), want: [] },
  {
    name: 'two ports with defaults', svc: service('s', { ports: [{ name: 'p80', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    want: [{ key: 'ns1/s:p80', protocol: 'TCP', port: 80, type: 'ClusterIP', nodePort: 0 }, { key: 'ns1/s:dns', protocol: 'UDP', port: 53 }],
  },
  {
    name: 'LoadBalancer Local with affinity and ingress IPs',
    svc: service('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, sessionAffinity: 'ClientIP', externalIPs: ['192.0.2.1', '2001:db8::1'], ports: [{ port: 80, nodePort: 30080 }] }, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } }),
    want: [{ key: 'ns1/lb', type: 'LoadBalancer', nodePort: 30080, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 }, externalIPs: ['192.0.2.1'], loadBalancerIPs: ['198.51.100.7'] }],
  },
  {
    name: 'LoadBalancer ingress with ipMode Proxy is not served (kube-proxy\'s LoadBalancerIPMode); VIP and unset are',
    svc: service('ipmode', { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] }, {
      status: { loadBalancer: { ingress: [{ ip: '198.51.100.1', ipMode: 'Proxy' }, { ip: '198.51.100.2', ipMode: 'VIP' }, { ip: '198.51.100.3' }, { hostname: 'lb.example' }] } },
    }),
    want: [{ key: 'ns1/ipmode', loadBalancerIPs: ['198.51.100.2', '198.51.100.3'] }],
  },
];
for (const tc of portCases) {
  test(`servicePorts: ${tc.name}`, (t) => {
    const got = [...servicePorts(tc.svc).values()];
    t.is(got.length, tc.want.length);
    tc.want.forEach((w, i) => t.like(got[i] as unknown as Record<string, unknown>, w));
  });
}

test('slices of one service merge; an endpoint in two slices appears once, ready wins', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('s', { ports: [{ name: 'p80', port: 80 }] }));
  b.onEndpointSliceChange(slice('s-1', 's', [['10.0.0.1'], ['10.0.0.2', false]]), false);
  b.onEndpointSliceChange(slice('s-2', 's', [['10.0.0.2', true, 'node-a'], ['10.0.0.3']]), false);
  const state = b.build();
  const eps = state.endpoints.get('ns1/s:p80')!;
  t.deepEqual(eps.map((e) => `${e.ip}:${e.port} ${e.ready} ${e.isLocal}`), ['10.0.0.1:8080 true false', '10.0.0.2:8080 true true', '10.0.0.3:8080 true false']);
  t.deepEqual([...state.changed].sort(), ['ns1/s:p80']);
  t.true(Object.isFrozen(state) && Object.isFrozen(eps) && Object.isFrozen(state.services.get('ns1/s:p80')));
});

test('no-op changes are dropped: update to the same spec, add then delete before a sync', (t) => {
  const b = new ProxyStateBuilder('node-a');
  const s = service('s', { ports: [{ port: 80 }] });
  t.true(b.onServiceChange(undefined, s));
  b.build();
  b.syncSucceeded();
  t.false(b.onServiceChange(s, { ...s, metadata: { ...s.metadata, resourceVersion: '2', annotations: { a: 'b' } } }), 'metadata-only change');
  const tmp = service('tmp', { ports: [{ port: 81 }] });
  b.onServiceChange(undefined, tmp);
  t.false(b.onServiceChange(tmp, undefined), 'added and deleted before a sync');
  t.false(b.onEndpointSliceChange(slice('x', 's', [['10.0.0.9']]), true), 'deleting an unknown slice');
  t.deepEqual(b.pendingCounts(), { services: 0, endpoints: 0 });
  t.deepEqual([...b.build().changed], []);
});

test('changed survives a failed sync and is cleared only by a successful one', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('a', { ports: [{ port: 80 }] }));
  t.deepEqual([...b.build().changed], ['ns1/a']);
  // The sync of that snapshot fails; another change arrives.
  b.onServiceChange(undefined, service('b', { clusterIP: '172.30.0.42', clusterIPs: ['172.30.0.42'], ports: [{ port: 80 }] }));
  t.deepEqual([...b.build().changed].sort(), ['ns1/a', 'ns1/b']);
  b.syncSucceeded();
  t.deepEqual([...b.build().changed], []);
});

test('UDP results: deleted endpoints and newly active services, kept until a successful sync', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
  b.onEndpointSliceChange(slice('dns-1', 'dns', [['10.0.0.1'], ['10.0.0.2']], [['dns', 53, 'UDP']]), false);
  let state = b.build();
  t.deepEqual([...state.udpConntrack.newlyActiveServices], ['ns1/dns:dns']);
  b.syncSucceeded();
  b.onEndpointSliceChange(slice('dns-1', 'dns', [['10.0.0.1'], ['10.0.0.2', false]], [['dns', 53, 'UDP']]), false);
  state = b.build();
  t.deepEqual(state.udpConntrack.deletedEndpoints, [{ serviceKey: 'ns1/dns:dns', endpoint: '10.0.0.2:53' }]);
  t.deepEqual([...state.udpConntrack.newlyActiveServices], []);
  // Failed sync: the next snapshot still carries the work.
  b.onEndpointSliceChange(slice('dns-1', 'dns', [], [['dns', 53, 'UDP']]), false);
  state = b.build();
  t.deepEqual(state.udpConntrack.deletedEndpoints.map((d) => d.endpoint), ['10.0.0.2:53', '10.0.0.1:53']);
  b.syncSucceeded();
  t.deepEqual(b.build().udpConntrack.deletedEndpoints, []);
});

test('trigger times: earliest per service, reported once by the successful sync', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('s', { ports: [{ name: 'p80', port: 80 }] }));
  b.onEndpointSliceChange(slice('s-1', 's', [['10.0.0.1']], undefined, { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:05Z' }), false);
  b.onEndpointSliceChange(slice('s-1', 's', [['10.0.0.2']], undefined, { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:09Z' }), false);
  const state = b.build();
  t.is(state.triggerTimes.get('ns1/s:p80'), Date.parse('2026-01-01T00:00:05Z'));
  t.deepEqual(b.syncSucceeded(), [Date.parse('2026-01-01T00:00:05Z')]);
  t.deepEqual(b.syncSucceeded(), []);
});

test('unnamed port: key ns/name (kube-proxy\'s ServicePortName), endpoints and trigger time found under it', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('u', { ports: [{ port: 80 }] }));
  b.onEndpointSliceChange(slice('u-1', 'u', [['10.0.0.1']], [['', 8080]], { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:05Z' }), false);
  const state = b.build();
  t.deepEqual([...state.services.keys()], ['ns1/u']);
  t.deepEqual(state.endpoints.get('ns1/u')?.map((e) => `${e.ip}:${e.port}`), ['10.0.0.1:8080']);
  t.is(state.triggerTimes.get('ns1/u'), Date.parse('2026-01-01T00:00:05Z'));
});

test('node IPs (for --nodeport-addresses primary) reach the snapshot; only a change asks for a sync', (t) => {
  const b = new ProxyStateBuilder('node-a');
  t.deepEqual(b.build().nodeIPs, []);
  t.true(b.setNodeIPs(['192.168.50.1']));
  t.false(b.setNodeIPs(['192.168.50.1']));
  t.deepEqual(b.build().nodeIPs, ['192.168.50.1']);
});

test('deleting the last slice removes the endpoints; node label change marks every service', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('s', { ports: [{ name: 'p80', port: 80 }] }));
  const sl = slice('s-1', 's', [['10.0.0.1']]);
  b.onEndpointSliceChange(sl, false);
  b.build();
  b.syncSucceeded();
  b.onEndpointSliceChange(sl, true);
  const state = b.build();
  t.false(state.endpoints.has('ns1/s:p80'));
  t.deepEqual([...state.changed], ['ns1/s:p80']);
  b.syncSucceeded();
  t.true(b.setNodeLabels({ 'topology.kubernetes.io/zone': 'z1' }));
  t.false(b.setNodeLabels({ 'topology.kubernetes.io/zone': 'z1' }));
  const after = b.build();
  t.deepEqual(after.nodeLabels, { 'topology.kubernetes.io/zone': 'z1' });
  t.deepEqual([...after.changed], ['ns1/s:p80']);
});

test('deleting a UDP service reports its cluster IP for conntrack cleanup, once', (t) => {
  const b = new ProxyStateBuilder('node-a');
  const dns = service('dns', { clusterIP: '172.30.0.10', clusterIPs: ['172.30.0.10'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  const web = service('web', { ports: [{ name: 'http', port: 80 }] });
  b.onServiceChange(undefined, dns);
  b.onServiceChange(undefined, web);
  b.build();
  b.syncSucceeded();
  b.onServiceChange(dns, undefined);
  b.onServiceChange(web, undefined);
  t.deepEqual([...b.build().udpConntrack.deletedClusterIPs!], ['172.30.0.10']);
  b.syncSucceeded();
  t.deepEqual([...b.build().udpConntrack.deletedClusterIPs!], []);
});

test('malformed addresses, ranges and ports are dropped before any mode writes them (one would fail the whole ruleset)', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('s', {
    ports: [{ name: 'p80', port: 80 }],
    externalIPs: ['192.168.99.1', '1.2.3', '300.1.1.1'],
    loadBalancerSourceRanges: ['10.0.0.0/8', 'bogus', '10.0.0.0/33', ' 192.168.0.0/16 ', 'fd00::/64'],
  }));
  b.onEndpointSliceChange(slice('s-1', 's', [['10.0.0.1'], ['10.0.0.999'], ['not-an-ip']], [['p80', 8080], ['bad', 70000]]), false);
  const state = b.build();
  const svc = state.services.get('ns1/s:p80')!;
  t.deepEqual(svc.externalIPs, ['192.168.99.1']);
  t.deepEqual(svc.loadBalancerSourceRanges, ['10.0.0.0/8', '192.168.0.0/16'], "the IPv4 proxier keeps its own family's ranges");
  t.deepEqual(state.endpoints.get('ns1/s:p80')!.map((e) => e.ip), ['10.0.0.1']);
  t.false(state.endpoints.has('ns1/s:bad'));
});

test('addresses with leading zeros are read as kube-proxy reads them (decimal) and kept in canonical form', (t) => {
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, service('bad', {
    type: 'LoadBalancer', clusterIP: '172.30.0.041', clusterIPs: ['172.30.0.041'], externalIPs: ['192.168.099.022'],
    loadBalancerSourceRanges: [' 203.0.113.000/025', '203.0.113.130/25', 'not-a-cidr'], ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
  }, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.004' }] } } }));
  b.onEndpointSliceChange(slice('bad-1', 'bad', [['10.180.00.001'], ['10.180.0.010'], ['10.180.0.300']]), false);
  const state = b.build();
  t.like(state.services.get('ns1/bad:p80'), {
    clusterIPs: ['172.30.0.41'], externalIPs: ['192.168.99.22'], loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['203.0.113.0/25', '203.0.113.128/25'],
  });
  // 10.180.0.300 is no address even read sloppily: dropped (it would fail the whole ruleset).
  t.deepEqual(state.endpoints.get('ns1/bad:p80')!.map((e) => e.ip), ['10.180.0.1', '10.180.0.10']);
});

test("source ranges as kube-proxy reads them: only the other family's leave this one unfiltered, a zero-masked one allows any", (t) => {
  const ranges = (loadBalancerSourceRanges: string[]) => {
    const b = new ProxyStateBuilder('node-a');
    b.onServiceChange(undefined, service('s', { ports: [{ name: 'p80', port: 80 }], loadBalancerSourceRanges }));
    return b.build().services.get('ns1/s:p80')!.loadBalancerSourceRanges;
  };
  t.deepEqual(ranges(['fd00::/64']), []);
  t.deepEqual(ranges(['10.0.0.0/8', '0.0.0.0/0']), []);
  t.deepEqual(ranges(['10.0.0.0/8', '::/0']), ['10.0.0.0/8']);
});

test('IPv6 addresses are kept in canonical form (Go\'s text), which chain hashes and endpoint strings are made of', (t) => {
  const b = new ProxyStateBuilder('node-a', 6);
  b.onServiceChange(undefined, service('v6', {
    clusterIP: 'FD00:172:30:0:0:0:0:0041', clusterIPs: ['FD00:172:30:0:0:0:0:0041'], externalIPs: ['2001:DB8::0:1', '192.168.99.1'], ports: [{ name: 'p80', port: 80 }],
    loadBalancerSourceRanges: ['2001:db8::1/64', '10.0.0.0/8'],
  }));
  b.onEndpointSliceChange({ ...slice('v6-1', 'v6', [['FD00:10:180::0001']]), addressType: 'IPv6' }, false);
  const state = b.build();
  t.like(state.services.get('ns1/v6:p80'), { clusterIPs: ['fd00:172:30::41'], externalIPs: ['2001:db8::1'], loadBalancerSourceRanges: ['2001:db8::/64'] });
  t.deepEqual(state.endpoints.get('ns1/v6:p80')!.map((e) => e.ip), ['fd00:10:180::1']);
});
