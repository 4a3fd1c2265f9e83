import test from 'ava';
import { SET } from '../../../../src/ipvs/desired.ts';
import { nodePortAddresses } from '../../../../src/ipvs/host.ts';
import { IPVS_SVC_F_PERSISTENT } from '../../../../src/netlink/ipvs.ts';
import { FakeNode, makeTestEndpointSlice, makeTestService, p80, rule, testCases, testHostname, twoFamilyServices, vs, type NodePortCase, type ProxierCase } from './kube-proxy.ts';

// Virtual servers, real servers and ipset entries of kube-proxy's IPVS
// proxier tests (source and the list of ported tests in kube-proxy.ts).

const nodePortService = (protocol: 'TCP' | 'UDP' | 'SCTP', local = false) =>
  makeTestService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }], ...(local ? { externalTrafficPolicy: 'Local' } : {}) });

const nodePortCases: NodePortCase[] = [
  {
    name: '1 service with node port, has 2 endpoints',
    services: [nodePortService('TCP')],
    endpoints: [
      makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80() }),
      makeTestEndpointSlice('ns1', 'svc1', 2, { addressType: 'IPv6', endpoints: [{ addresses: ['1002:ab8::2:10'] }], ports: p80() }),
    ],
    nodeIPs: ['100.101.102.103', '2001:db8::1:1'],
    nodePortAddresses: [],
    ipvs: { '10.20.30.41:80/TCP': vs('10.180.0.1:80'), '100.101.102.103:3001/TCP': vs('10.180.0.1:80') },
  },
  {
    name: '1 UDP service with node port, has endpoints',
    services: [nodePortService('UDP')],
    endpoints: [makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80('UDP') })],
    nodeIPs: ['100.101.102.103'],
    nodePortAddresses: ['0.0.0.0/0'],
    ipvs: { '10.20.30.41:80/UDP': vs('10.180.0.1:80'), '100.101.102.103:3001/UDP': vs('10.180.0.1:80') },
    ipsets: { [SET.nodePortUDP]: ['3001'] },
    chains: {
      'KUBE-NODE-PORT': [rule('KUBE-MARK-MASQ', SET.nodePortUDP), rule('ACCEPT', SET.healthCheckNodePort)],
      'KUBE-SERVICES': [rule('RETURN', '', '127.0.0.0/8'), rule('KUBE-MARK-MASQ', SET.clusterIP), rule('KUBE-NODE-PORT'), rule('ACCEPT', SET.clusterIP)],
    },
  },
  {
    name: 'service has node port but no endpoints',
    services: [nodePortService('TCP')],
    endpoints: [],
    nodeIPs: ['100.101.102.103'],
    nodePortAddresses: [],
    // No real servers: the service has no endpoints.
    ipvs: { '10.20.30.41:80/TCP': vs(), '100.101.102.103:3001/TCP': vs() },
  },
  {
    name: 'node port service with protocol sctp on a node with multiple nodeIPs',
    services: [nodePortService('SCTP')],
    endpoints: [makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80('SCTP') })],
    nodeIPs: ['100.101.102.103', '100.101.102.104', '100.101.102.105', '2001:db8::1:1', '2001:db8::1:2', '2001:db8::1:3'],
    nodePortAddresses: [],
    ipvs: {
      '10.20.30.41:80/SCTP': vs('10.180.0.1:80'),
      '100.101.102.103:3001/SCTP': vs('10.180.0.1:80'),
      '100.101.102.104:3001/SCTP': vs('10.180.0.1:80'),
      '100.101.102.105:3001/SCTP': vs('10.180.0.1:80'),
    },
    ipsets: { [SET.nodePortSCTP]: ['100.101.102.103,sctp:3001', '100.101.102.104,sctp:3001', '100.101.102.105,sctp:3001'] },
  },
  {
    name: 'node port service with protocol sctp and externalTrafficPolicy local',
    services: [nodePortService('SCTP', true)],
    endpoints: [makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: testHostname }, { addresses: ['10.180.1.1'], nodeName: 'otherHost' }], ports: p80('SCTP') })],
    nodeIPs: ['100.101.102.103'],
    nodePortAddresses: [],
    ipvs: { '10.20.30.41:80/SCTP': vs('10.180.0.1:80', '10.180.1.1:80'), '100.101.102.103:3001/SCTP': vs('10.180.0.1:80') },
    ipsets: { [SET.nodePortSCTP]: ['100.101.102.103,sctp:3001'], [SET.nodePortLocalSCTP]: ['100.101.102.103,sctp:3001'] },
    chains: { 'KUBE-NODE-PORT': [rule('RETURN', SET.nodePortLocalSCTP), rule('KUBE-MARK-MASQ', SET.nodePortSCTP), rule('ACCEPT', SET.healthCheckNodePort)] },
  },
];

testCases('TestNodePortIPv4', 4, nodePortCases);

const ipv4ProxierCases: ProxierCase[] = [
  { name: '2 services with Cluster IP, each with endpoints', ...twoFamilyServices(), ipvs: { '10.20.30.41:80/TCP': vs('10.180.0.1:80') } },
  {
    name: 'cluster IP service with no endpoints',
    services: [makeTestService('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] })],
    endpoints: [],
    ipvs: { '10.20.30.41:80/TCP': vs() },
  },
];

testCases('TestIPv4Proxier', 4, ipv4ProxierCases);

test('TestExternalIPsNoEndpoint: the external IP has a virtual server without real servers', (t) => {
  const node = new FakeNode().addServices(
    makeTestService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '10.20.30.41', externalIPs: ['50.60.70.81'], ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }] }),
  );
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 2);
  t.deepEqual(ipvs['50.60.70.81:80/TCP']?.dests, []);
});

// Upstream's endpoints here name the port's protocol UDP while the service
// port is TCP: they belong to another service port, so this one has none.
const externalIPsService = (local: boolean) =>
  makeTestService('ns1', 'svc1', {
    type: local ? 'NodePort' : 'ClusterIP', clusterIP: '10.20.30.41', externalIPs: ['50.60.70.81', '2012::51', '127.0.0.1'],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }], ...(local ? { externalTrafficPolicy: 'Local' } : {}),
  });

test('TestExternalIPs: a virtual server per external IP of the family, real servers the endpoints', (t) => {
  const node = new FakeNode().addServices(externalIPsService(false)).addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80('UDP') }));
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 3, 'ipvs filters out by ip family');
  const external = ['50.60.70.81', '127.0.0.1'].map((ip) => ipvs[`${ip}:80/TCP`]);
  t.true(external.every((v) => v !== undefined), 'external ip type service');
  for (const v of external) t.true(v!.dests.every((d) => d === '10.180.0.1:80'), 'service endpoint matches the ipvs destination');
});

test('TestOnlyLocalExternalIPs: with externalTrafficPolicy Local an external IP has only the local endpoint', (t) => {
  const node = new FakeNode().addServices(externalIPsService(true)).addSlices(
    makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: testHostname }, { addresses: ['10.180.1.1'], nodeName: 'other-hostname' }], ports: p80() }),
  );
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 3, 'ipvs filters out by ip family');
  t.deepEqual(ipvs['50.60.70.81:80/TCP']?.dests, ['10.180.0.1:80']);
  t.deepEqual(ipvs['127.0.0.1:80/TCP']?.dests, ['10.180.0.1:80']);
});

test('TestSessionAffinity: every virtual server of a ClientIP service is persistent with the affinity timeout', (t) => {
  const node = new FakeNode({ hostAddresses: ['100.101.102.103'] }).addServices(
    makeTestService('ns1', 'svc1', {
      type: 'NodePort', clusterIP: '10.20.30.41', externalIPs: ['50.60.70.81'], sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
    }),
  );
  node.sync();
  const all = Object.values(node.ipvs());
  t.is(all.length, 3);
  for (const v of all) t.deepEqual({ timeout: v.timeout, persistent: (v.flags & IPVS_SVC_F_PERSISTENT) !== 0 }, { timeout: 10800, persistent: true });
});

// The three cases with the LoadBalancerIPMode gate on (see kube-proxy.ts for
// the gate-off ones): an ingress IP with ipMode Proxy gets no virtual server.
const ipModeCases: Array<{ name: string; svcIP: string; lbIP: string; ipMode?: 'Proxy' | 'VIP'; expected: number }> = [
  { name: 'LoadBalancerIPMode enabled, ipMode Proxy', svcIP: '10.20.30.41', lbIP: '1.2.3.4', ipMode: 'Proxy', expected: 1 },
  { name: 'LoadBalancerIPMode enabled, ipMode VIP', svcIP: '10.20.30.42', lbIP: '1.2.3.5', ipMode: 'VIP', expected: 2 },
  { name: 'LoadBalancerIPMode enabled, ipMode nil', svcIP: '10.20.30.43', lbIP: '1.2.3.6', expected: 2 },
];

for (const c of ipModeCases) {
  test(`TestLoadBalancerIngressRouteTypeProxy: ${c.name}`, (t) => {
    const node = new FakeNode()
      .addServices(makeTestService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: c.svcIP, ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] }, { loadBalancer: { ingress: [{ ip: c.lbIP, ...(c.ipMode ? { ipMode: c.ipMode } : {}) }] } }))
      .addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80() }));
    node.sync();
    t.is(Object.keys(node.ipvs()).length, c.expected);
  });
}

// TestGetNodeIPs: every local address but those on kube-ipvs0, loopback and
// IPv6 link-local, of the proxier's family. Ferry's nodePortAddresses (no
// --nodeport-addresses) lists both families; each case keeps its own.
const devices: Record<string, number> = { lo: 1, eth0: 2, eth5: 3, encap0: 4, encap7: 5, encaps9: 6, docker0: 7, ipvs0: 8, 'kube-ipvs0': 9 };
const nodeIPCases: Array<{ isIPv6?: boolean; devAddresses: Record<string, string[]>; expectIPs: string[] }> = [
  { devAddresses: { eth0: ['1.2.3.4'], lo: ['127.0.0.1'] }, expectIPs: ['1.2.3.4'] },
  { devAddresses: { lo: ['127.0.0.1'] }, expectIPs: [] },
  { devAddresses: {}, expectIPs: [] },
  { devAddresses: { encap0: ['10.20.30.40', 'fe80::200:ff:fe01:1'], lo: ['127.0.0.1', '::1'], docker0: ['172.17.0.1'] }, expectIPs: ['10.20.30.40', '172.17.0.1'] },
  { devAddresses: { encaps9: ['10.20.30.40'], lo: ['127.0.0.1', '::1'], encap7: ['1000::', '10.20.30.31'] }, expectIPs: ['10.20.30.40', '10.20.30.31'] },
  { devAddresses: { 'kube-ipvs0': ['2000::', '1.2.3.4'], lo: ['127.0.0.1', '::1'], encap7: ['1000::', '10.20.30.31'] }, expectIPs: ['10.20.30.31'] },
  { devAddresses: { 'kube-ipvs0': ['1.2.3.4', '2.3.4.5'], lo: ['127.0.0.1', '::1'] }, expectIPs: [] },
  { devAddresses: { 'kube-ipvs0': ['1.2.3.4', '2.3.4.5'] }, expectIPs: [] },
  { devAddresses: { 'kube-ipvs0': ['1.2.3.4', '2.3.4.5'], eth5: ['3.4.5.6'], lo: ['127.0.0.1', '::1'] }, expectIPs: ['3.4.5.6'] },
  { devAddresses: { ipvs0: ['1.2.3.4'], lo: ['127.0.0.1', '::1'], encap7: ['10.20.30.31'] }, expectIPs: ['10.20.30.31', '1.2.3.4'] },
  { isIPv6: true, devAddresses: { ipvs0: ['1.2.3.4', '1000::'], lo: ['127.0.0.1', '::1'], encap7: ['10.20.30.31', '2000::', 'fe80::200:ff:fe01:1'] }, expectIPs: ['1000::', '2000::'] },
  {
    isIPv6: true,
    devAddresses: { ipvs0: ['1.2.3.4', '1000::'], lo: ['127.0.0.1', '::1'], encap7: ['10.20.30.31', '2000::', 'fe80::200:ff:fe01:1'], 'kube-ipvs0': ['1.2.3.4', '2.3.4.5', '2000::'] },
    expectIPs: ['1000::'],
  },
];

nodeIPCases.forEach((c, i) => {
  test(`TestGetNodeIPs: case ${i}`, (t) => {
    const all = Object.entries(c.devAddresses).flatMap(([dev, ips]) => ips.map((address) => ({ index: devices[dev]!, address, prefixLength: 24 })));
    const ips = nodePortAddresses(all, devices['kube-ipvs0']!, []).filter((ip) => ip.includes(':') === (c.isIPv6 ?? false));
    t.deepEqual(ips.sort(), [...c.expectIPs].sort());
  });
});

// TestIpIsValidForSet: which local addresses count (loopback never, IPv6
// link-local never, IPv4 link-local yes). Go parses "::ffff:a.b.c.d" to the
// IPv4 address itself, which is how netlink reports it to Ferry.
const validCases: Array<[isIPv6: boolean, ip: string, valid: boolean, upstream?: string]> = [
  [false, '127.0.0.1', false],
  [false, '127.0.0.0', false],
  [false, '127.6.7.8', false],
  [false, '8.8.8.8', true],
  [false, '192.168.0.1', true],
  [false, '169.254.0.0', true],
  [false, '169.254.0.0', true, '::ffff:169.254.0.0'],
  [false, '1000::', false],
  [true, '::1', false],
  [true, '1000::', true],
  [true, 'fe80::200:ff:fe01:1', false],
  [true, '8.8.8.8', false],
  [true, '8.8.8.8', false, '::ffff:8.8.8.8'],
];

for (const [isIPv6, ip, valid, upstream] of validCases) {
  test(`TestIpIsValidForSet: ${isIPv6 ? 'IPv6' : 'IPv4'} ${upstream ?? ip}`, (t) => {
    const ips = nodePortAddresses([{ index: 2, address: ip, prefixLength: 24 }], 9, []).filter((a) => a.includes(':') === isIPv6);
    t.is(ips.includes(ip), valid);
  });
}
