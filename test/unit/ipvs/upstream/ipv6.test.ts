import test from 'ava';
import { SET } from '../../../../src/ipvs/desired.ts';
import { ipsetName } from '../../../../src/ipvs/ipset.ts';
import { chainRules, FakeNode, makeTestEndpointSlice, makeTestService, p80, rule, testCases, twoFamilyServices, vs, type NodePortCase, type ProxierCase } from './kube-proxy.ts';

// kube-proxy's IPv6 IPVS proxier tests (source and the list in kube-proxy.ts):
// the IPv6 proxier of a node (upstream's NewFakeProxier with IPv6Protocol),
// whose state builder keeps IPv6 addresses only.

const nodePortService = (clusterIP: string, protocol: 'TCP' | 'UDP' | 'SCTP') =>
  makeTestService('ns1', 'svc1', { type: 'NodePort', clusterIP, ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }] });

const nodePortCases: NodePortCase[] = [
  {
    name: '1 service with node port, has 2 endpoints',
    services: [nodePortService('2020::1', 'TCP')],
    endpoints: [
      makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80() }),
      makeTestEndpointSlice('ns1', 'svc1', 2, { addressType: 'IPv6', endpoints: [{ addresses: ['1002:ab8::2:10'] }], ports: p80() }),
    ],
    nodeIPs: ['100.101.102.103', '2001:db8::1:1'],
    nodePortAddresses: [],
    ipvs: { '2001:db8::1:1:3001/TCP': vs('1002:ab8::2:10:80'), '2020::1:80/TCP': vs('1002:ab8::2:10:80') },
  },
  {
    name: '1 UDP service with node port, has endpoints (no action on IPv6 Proxier)',
    services: [nodePortService('10.20.30.41', 'UDP')],
    endpoints: [makeTestEndpointSlice('ns1', 'svc1', 1, { addressType: 'IPv6', endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80('UDP') })],
    nodeIPs: ['100.101.102.103'],
    nodePortAddresses: ['0.0.0.0/0'],
    // A node with only IPv4: the IPv6 proxier does nothing.
    ipvs: {},
  },
  {
    name: 'service has node port but no endpoints',
    services: [nodePortService('2020::1', 'TCP')],
    endpoints: [],
    nodeIPs: ['100.101.102.103', '2001:db8::1:1'],
    nodePortAddresses: [],
    ipvs: { '2001:db8::1:1:3001/TCP': vs(), '2020::1:80/TCP': vs() },
  },
  {
    name: 'node port service with protocol sctp on a node with multiple nodeIPs',
    services: [nodePortService('2020::1', 'SCTP')],
    endpoints: [makeTestEndpointSlice('ns1', 'svc1', 1, { addressType: 'IPv6', endpoints: [{ addresses: ['2001::1'] }], ports: p80('SCTP') })],
    nodeIPs: ['2001:db8::1:1', '2001:db8::1:2'],
    nodePortAddresses: [],
    ipvs: { '2001:db8::1:1:3001/SCTP': vs('2001::1:80'), '2001:db8::1:2:3001/SCTP': vs('2001::1:80'), '2020::1:80/SCTP': vs('2001::1:80') },
    ipsets: { [SET.nodePortSCTP]: ['2001:db8::1:1,sctp:3001', '2001:db8::1:2,sctp:3001'] },
  },
];

testCases('TestNodePortIPv6', 6, nodePortCases);

const ipv6ProxierCases: ProxierCase[] = [
  { name: '2 services with Cluster IP, each with endpoints', ...twoFamilyServices(), ipvs: { '1002:ab8::2:1:8080/TCP': vs('1009:ab8::5:6:8080') } },
  {
    name: 'cluster IP service with no endpoints',
    services: [makeTestService('ns1', 'svc1', { clusterIP: '2001::1', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] })],
    endpoints: [],
    ipvs: { '2001::1:80/TCP': vs() },
  },
];

testCases('TestIPv6Proxier', 6, ipv6ProxierCases);

test('TestDismissLocalhostRuleExist: ipv6 rule', (t) => {
  const node = new FakeNode({ family: 6 });
  node.sync();
  const rules = chainRules(node.rules(), 'KUBE-SERVICES');
  t.true(rules.length > 0, 'skip loop back ip in kubeservice chain exists');
  t.deepEqual(rules[0], rule('RETURN', '', '::1/128'));
});

test('IPv6 sets are kube-proxy\'s KUBE-6- ones (cut to 31 characters), and the rules match on them', (t) => {
  t.is(ipsetName(SET.clusterIP, 6), 'KUBE-6-CLUSTER-IP');
  t.is(ipsetName(SET.loadBalancerSourceCIDR, 6), 'KUBE-6-LOAD-BALANCER-SOURCE-CID');
  t.is(ipsetName(SET.nodePortLocalSCTP, 6), 'KUBE-6-NODE-PORT-LOCAL-SCTP-HAS');
  const node = new FakeNode({ family: 6 }).addServices(makeTestService('ns1', 'svc1', { clusterIP: '2020::1', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
  node.sync();
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-SERVICES'), [rule('RETURN', '', '::1/128'), rule('KUBE-MARK-MASQ', 'KUBE-6-CLUSTER-IP'), rule('KUBE-NODE-PORT'), rule('ACCEPT', 'KUBE-6-CLUSTER-IP')]);
  t.true(text.includes('-A KUBE-IPVS-NO-ENDPOINTS -d 2020::1/128 -p tcp -m tcp --dport 80 -m comment --comment "service has no endpoints" -j REJECT --reject-with icmp6-port-unreachable'));
  t.false(/--match-set KUBE-(?!6-)/.test(text), 'no IPv4 set in the IPv6 rules');
});
