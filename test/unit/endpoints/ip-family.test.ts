import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { conntrackDeletions } from '../../../src/endpoints/conntrack.ts';
import { primaryFamilyOf } from '../../../src/endpoints/primary-family.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';

// One builder per IP family, as kube-proxy's per-family change trackers:
// a dual-stack Service and its two EndpointSlices split between them.

const dualStack: Service = {
  metadata: { namespace: 'ns1', name: 'web', resourceVersion: '1' },
  spec: {
    type: 'LoadBalancer', clusterIP: '172.30.0.41', clusterIPs: ['172.30.0.41', 'fd00:172:30::41'], ipFamilies: ['IPv4', 'IPv6'],
    externalIPs: ['192.168.99.11', '2001:db8:99::11'], loadBalancerSourceRanges: ['203.0.113.0/25', '2600:5200::/32'],
    ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }],
  },
  status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '2001:db8:5::4' }] } },
};

const slice = (family: 4 | 6, ips: string[]): EndpointSlice => ({
  metadata: { namespace: 'ns1', name: `web-v${family}`, labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: family === 4 ? 'IPv4' : 'IPv6',
  ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a' })),
});

function feed(family: 4 | 6): ProxyStateBuilder {
  const b = new ProxyStateBuilder('node-a', family);
  b.onServiceChange(undefined, dualStack);
  b.onEndpointSliceChange(slice(4, ['10.180.0.1']), false);
  // A malformed or other-family address in an IPv6 slice is dropped like any malformed one.
  b.onEndpointSliceChange(slice(6, ['fd00:10:180::1', '10.180.0.9', 'fd00::zz']), false);
  return b;
}

test('each family builder keeps only its own addresses and slices', (t) => {
  const v4 = feed(4).build();
  const v6 = feed(6).build();
  t.is(v4.ipFamily, 4);
  t.is(v6.ipFamily, 6);
  t.like(v4.services.get('ns1/web:dns'), { clusterIPs: ['172.30.0.41'], externalIPs: ['192.168.99.11'], loadBalancerIPs: ['1.2.3.4'] });
  t.like(v6.services.get('ns1/web:dns'), { clusterIPs: ['fd00:172:30::41'], externalIPs: ['2001:db8:99::11'], loadBalancerIPs: ['2001:db8:5::4'], nodePort: 30053 });
  t.deepEqual(v4.endpoints.get('ns1/web:dns')!.map((e) => e.ip), ['10.180.0.1']);
  t.deepEqual(v6.endpoints.get('ns1/web:dns')!.map((e) => e.ip), ['fd00:10:180::1']);
  t.true(v6.endpoints.get('ns1/web:dns')![0]!.isLocal);
});

test('an IPv4-only Service gives the IPv6 builder nothing', (t) => {
  const b = new ProxyStateBuilder('node-a', 6);
  t.false(b.onServiceChange(undefined, { ...dualStack, spec: { ...dualStack.spec, clusterIPs: ['172.30.0.41'], ipFamilies: ['IPv4'] } }));
  t.is(b.build().services.size, 0);
});

test('conntrack cleanup of an IPv6 snapshot asks for IPv6 entries (-f ipv6); IPv4 filters are unchanged', (t) => {
  const deletions = (family: 4 | 6) => {
    const b = feed(family);
    b.build();
    b.syncSucceeded();
    b.onEndpointSliceChange(slice(family, []), false);
    const state = b.build();
    return conntrackDeletions(state, state.services);
  };
  t.deepEqual(deletions(6), [
    ['-D', '--orig-dst', 'fd00:172:30::41', '--dst-nat', 'fd00:10:180::1', '-p', 'udp', '-f', 'ipv6'],
    ['-D', '--orig-dst', '2001:db8:99::11', '--dst-nat', 'fd00:10:180::1', '-p', 'udp', '-f', 'ipv6'],
    ['-D', '--orig-dst', '2001:db8:5::4', '--dst-nat', 'fd00:10:180::1', '-p', 'udp', '-f', 'ipv6'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', 'fd00:10:180::1', '-f', 'ipv6'],
  ]);
  t.deepEqual(deletions(4), [
    ['-D', '--orig-dst', '172.30.0.41', '--dst-nat', '10.180.0.1', '-p', 'udp'],
    ['-D', '--orig-dst', '192.168.99.11', '--dst-nat', '10.180.0.1', '-p', 'udp'],
    ['-D', '--orig-dst', '1.2.3.4', '--dst-nat', '10.180.0.1', '-p', 'udp'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.180.0.1'],
  ]);
});

test('the primary family is the Node primary IP\'s, IPv4 when unknown', (t) => {
  const node = (addresses: Array<[string, string]>) => ({ status: { addresses: addresses.map(([type, address]) => ({ type, address })) } });
  t.is(primaryFamilyOf(node([['InternalIP', 'fd00:1::2'], ['InternalIP', '192.168.0.2']])), 6);
  t.is(primaryFamilyOf(node([['ExternalIP', '2001:db8::2'], ['InternalIP', '192.168.0.2']])), 4, 'InternalIP before ExternalIP');
  t.is(primaryFamilyOf(node([])), 4);
  t.is(primaryFamilyOf(undefined), 4);
});
