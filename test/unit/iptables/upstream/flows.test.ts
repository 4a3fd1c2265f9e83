import test from 'ava';
import type { Endpoint, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { svc } from '../fixtures.ts';
import {
  local, remote, runPacketFlowTests, sync, testExternalClient, testExternalClientBlocked, testExternalIP, testNodeIP, testNodeIPAlt, testNodeIPs,
  testNodeIPv6, testNodeIPv6Alt, testNodeIPv6s, upstreamOptions, upstreamOptionsIPv6, type PacketFlowTest,
} from './kube-proxy.ts';

// kube-proxy's packet-flow tables for no endpoints, ClusterIP basics,
// load balancer source ranges, node ports, health check node ports,
// masquerading and external traffic policy (source in kube-proxy.ts), each
// run through the rules Ferry renders for the same services. None of their
// cases is left out.

test('TestNoEndpointsReject: every address of a service without endpoints rejects', async (t) => {
  const { ipt } = await sync([[svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIPs: ['172.30.0.41'], externalIPs: [testExternalIP], nodePort: 3001, loadBalancerIPs: ['1.2.3.4'] }), []]]);
  runPacketFlowTests(t, ipt, [
    { name: 'pod to cluster IP with no endpoints', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: 'REJECT' },
    { name: 'external to external IP with no endpoints', sourceIP: testExternalClient, destIP: testExternalIP, destPort: 80, output: 'REJECT' },
    { name: 'pod to NodePort with no endpoints', sourceIP: '10.0.0.2', destIP: testNodeIP, destPort: 3001, output: 'REJECT' },
    { name: 'external to NodePort with no endpoints', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: 'REJECT' },
    { name: 'pod to LoadBalancer IP with no endpoints', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
    { name: 'external to LoadBalancer IP with no endpoints', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
  ]);
});

test('TestClusterIPGeneral: ports, target ports, protocols, hairpin', async (t) => {
  const port = (name: string, protocol: ServicePort['protocol'], p: number, target: number): [ServicePort, Endpoint[]] => [
    svc('ns2', 'svc2', { portName: name, protocol, port: p, clusterIPs: ['172.30.0.42'] }),
    [local('10.180.0.1', target), remote('10.180.2.1', target)],
  ];
  const { ipt } = await sync([
    [svc('ns1', 'svc1', { portName: 'http', clusterIPs: ['172.30.0.41'] }), [local('10.180.0.1')]],
    port('http', 'TCP', 80, 80), port('https', 'TCP', 443, 8443), port('dns-udp', 'UDP', 53, 53), port('dns-tcp', 'TCP', 53, 5353), port('dns-sctp', 'SCTP', 53, 53),
  ]);
  runPacketFlowTests(t, ipt, [
    { name: 'simple clusterIP', sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80' },
    { name: 'hairpin to cluster IP', sourceIP: '10.180.0.1', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: true },
    { name: 'clusterIP with multiple endpoints', sourceIP: '10.180.0.2', destIP: '172.30.0.42', destPort: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
    { name: 'clusterIP with TargetPort', sourceIP: '10.180.0.2', destIP: '172.30.0.42', destPort: 443, output: '10.180.0.1:8443, 10.180.2.1:8443' },
    { name: 'clusterIP with TCP, UDP, and SCTP on same port (TCP)', sourceIP: '10.180.0.2', protocol: 'tcp', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:5353, 10.180.2.1:5353' },
    { name: 'clusterIP with TCP, UDP, and SCTP on same port (UDP)', sourceIP: '10.180.0.2', protocol: 'udp', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:53, 10.180.2.1:53' },
    { name: 'clusterIP with TCP, UDP, and SCTP on same port (SCTP)', sourceIP: '10.180.0.2', protocol: 'sctp', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:53, 10.180.2.1:53' },
    { name: 'TCP-only port does not match UDP traffic', sourceIP: '10.180.0.2', protocol: 'udp', destIP: '172.30.0.42', destPort: 80, output: '' },
    { name: "svc1 does not accept svc2's ports", sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 443, output: '' },
  ]);
});

test('TestLoadBalancer: source ranges on two LB IPs; node ports bypass them', async (t) => {
  const { ipt } = await sync([[
    svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIPs: ['172.30.0.41'], nodePort: 3001, loadBalancerIPs: ['1.2.3.4', '5.6.7.8'], loadBalancerSourceRanges: ['192.168.0.0/24', '203.0.113.0/25'] }),
    [remote('10.180.0.1')],
  ]]);
  const ep = '10.180.0.1:80';
  runPacketFlowTests(t, ipt, [
    { name: 'pod to cluster IP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: ep },
    { name: 'external to nodePort', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: ep, masq: true },
    { name: 'nodePort bypasses LoadBalancerSourceRanges', sourceIP: testExternalClientBlocked, destIP: testNodeIP, destPort: 3001, output: ep, masq: true },
    { name: 'accepted external to LB1', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
    { name: 'accepted external to LB2', sourceIP: testExternalClient, destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
    { name: 'blocked external to LB1', sourceIP: testExternalClientBlocked, destIP: '1.2.3.4', destPort: 80, output: 'DROP' },
    { name: 'blocked external to LB2', sourceIP: testExternalClientBlocked, destIP: '5.6.7.8', destPort: 80, output: 'DROP' },
    { name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'DROP' },
    { name: 'pod to LB2 (blocked by LoadBalancerSourceRanges)', sourceIP: '10.0.0.2', destIP: '5.6.7.8', destPort: 80, output: 'DROP' },
    { name: 'node to LB1 (allowed by LoadBalancerSourceRanges)', sourceIP: testNodeIP, destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
    { name: 'node to LB2 (allowed by LoadBalancerSourceRanges)', sourceIP: testNodeIP, destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
    { name: 'same node to LB1, SNATted to LB1 (implicitly allowed)', sourceIP: '1.2.3.4', destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
    { name: 'same node to LB2, SNATted to LB2 (implicitly allowed)', sourceIP: '5.6.7.8', destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
  ]);
});

const nodePortCases: Array<{ name: string; family: 4 | 6; localhostNodePorts: boolean; nodePortAddresses: string[]; allowAltNodeIP: boolean; expectFirewall: boolean }> = [
  { name: 'ipv4, localhost-nodeports enabled', family: 4, localhostNodePorts: true, nodePortAddresses: [], allowAltNodeIP: true, expectFirewall: true },
  { name: 'ipv4, localhost-nodeports disabled', family: 4, localhostNodePorts: false, nodePortAddresses: [], allowAltNodeIP: true, expectFirewall: false },
  { name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses', family: 4, localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'], allowAltNodeIP: false, expectFirewall: false },
  { name: 'ipv4, localhost-nodeports enabled, multiple nodeport-addresses', family: 4, localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'], allowAltNodeIP: true, expectFirewall: false },
  { name: 'ipv6, localhost-nodeports enabled', family: 6, localhostNodePorts: true, nodePortAddresses: [], allowAltNodeIP: true, expectFirewall: false },
  { name: 'ipv6, localhost-nodeports disabled', family: 6, localhostNodePorts: false, nodePortAddresses: [], allowAltNodeIP: true, expectFirewall: false },
  { name: 'ipv6, localhost-nodeports disabled, multiple nodeport-addresses', family: 6, localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'], allowAltNodeIP: false, expectFirewall: false },
];
/** Upstream's per-family addresses of TestNodePorts. */
const nodePortAddresses = {
  4: { svcIP: '172.30.0.41', epIP1: '10.180.0.1', epIP2: '10.180.2.1', podIP: '10.0.0.2', client: testExternalClient, nodeIP: testNodeIP, altNodeIP: testNodeIPAlt, localhost: '127.0.0.1', output: '10.180.0.1:80, 10.180.2.1:80' },
  6: { svcIP: 'fd00:172:30::41', epIP1: 'fd00:10:180::1', epIP2: 'fd00:10:180::2:1', podIP: 'fd00:10::2', client: '2600:5200::1', nodeIP: testNodeIPv6, altNodeIP: testNodeIPv6Alt, localhost: '::1', output: '[fd00:10:180::1]:80, [fd00:10:180::2:1]:80' },
} as const;
for (const tc of nodePortCases) {
  test(`TestNodePorts: ${tc.name}`, async (t) => {
    const a = nodePortAddresses[tc.family];
    const flags = { nodePortAddresses: tc.nodePortAddresses, localhostNodePorts: tc.localhostNodePorts };
    const { ipt } = await sync(
      [[svc('ns1', 'svc1', { type: 'NodePort', clusterIPs: [a.svcIP], nodePort: 3001 }), [remote(a.epIP1), local(a.epIP2)]]],
      tc.family === 4 ? upstreamOptions(flags) : upstreamOptionsIPv6(flags),
    );
    const { output } = a;
    const flows: PacketFlowTest[] = [
      { name: 'pod to cluster IP', sourceIP: a.podIP, destIP: a.svcIP, destPort: 80, output },
      { name: 'external to nodePort', sourceIP: a.client, destIP: a.nodeIP, destPort: 3001, output, masq: true },
      { name: 'node to nodePort', sourceIP: a.nodeIP, destIP: a.nodeIP, destPort: 3001, output, masq: true },
      // Localhost NodePorts exist in IPv4 only, and only when not disabled.
      tc.family === 4 && tc.localhostNodePorts
        ? { name: 'localhost to nodePort gets masqueraded', sourceIP: a.localhost, destIP: a.localhost, destPort: 3001, output, masq: true }
        : { name: 'localhost to nodePort is ignored', sourceIP: a.localhost, destIP: a.localhost, destPort: 3001, output: '' },
      tc.allowAltNodeIP
        ? { name: 'external to nodePort on secondary IP', sourceIP: a.client, destIP: a.altNodeIP, destPort: 3001, output, masq: true }
        : { name: 'secondary nodeIP ignores NodePorts', sourceIP: a.client, destIP: a.altNodeIP, destPort: 3001, output: '' },
    ];
    // Upstream's fake node has every address of both families.
    runPacketFlowTests(t, ipt, flows, [...testNodeIPs, ...testNodeIPv6s]);
    const firewall = ipt.rules('filter', 'KUBE-FIREWALL');
    t.deepEqual(firewall, tc.expectFirewall ? ['-m comment --comment block incoming localnet connections -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'] : []);
  });
}

test('TestHealthCheckNodePort: accepted while the service exists, gone after', async (t) => {
  const lb = svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3001, healthCheckNodePort: 30000, externalTrafficPolicy: 'Local' });
  const opts = upstreamOptions({ nodePortAddresses: ['127.0.0.0/8'] });
  runPacketFlowTests(t, (await sync([[lb, []]], opts)).ipt, [{ name: 'firewall accepts HealthCheckNodePort', sourceIP: '1.2.3.4', destIP: testNodeIP, destPort: 30000, output: 'ACCEPT' }]);
  runPacketFlowTests(t, (await sync([], opts)).ipt, [{ name: 'HealthCheckNodePort no longer has any rule', sourceIP: '1.2.3.4', destIP: testNodeIP, destPort: 30000, output: '' }]);
});

const FORWARD_ACCEPTS = [
  '-m comment --comment kubernetes forwarding rules -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '-m comment --comment kubernetes forwarding conntrack rule -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
];

for (const tc of [
  { tcpLiberal: false, nfacct: false, dropRule: ['-m conntrack --ctstate INVALID -j DROP'] },
  { tcpLiberal: false, nfacct: true, dropRule: ['-m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP'] },
  { tcpLiberal: true, nfacct: false, dropRule: [] },
]) {
  test(`TestDropInvalidRule: tcpLiberal is ${tc.tcpLiberal} and nfacctEnsured is ${tc.nfacct}`, async (t) => {
    const { ipt } = await sync([], { ...upstreamOptions({ nfacct: tc.nfacct }), conntrackTCPLiberal: tc.tcpLiberal });
    t.deepEqual(ipt.rules('filter', 'KUBE-FORWARD'), [...tc.dropRule, ...FORWARD_ACCEPTS]);
  });
}

for (const randomFully of [false, true]) {
  test(`TestMasqueradeRule: randomFully ${randomFully}`, async (t) => {
    const { ipt } = await sync([], { ...upstreamOptions(), randomFully });
    t.deepEqual(ipt.rules('nat', 'KUBE-POSTROUTING'), [
      '-m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-j MARK --xor-mark 0x4000',
      `-m comment --comment kubernetes service traffic requiring SNAT -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
    ]);
  });
}

const externalPolicyService = (policy: 'Local' | 'Cluster') =>
  svc('ns1', 'svc1', { type: 'LoadBalancer', externalTrafficPolicy: policy, clusterIPs: ['172.30.0.41'], externalIPs: [testExternalIP], nodePort: 3001, loadBalancerIPs: ['1.2.3.4'], healthCheckNodePort: policy === 'Local' ? 30000 : 0 });
const both = '10.180.0.1:80, 10.180.2.1:80';

test('TestExternalTrafficPolicyLocal: outside clients keep their address and reach local endpoints; pods reach all', async (t) => {
  const { ipt } = await sync([[externalPolicyService('Local'), [remote('10.180.0.1'), local('10.180.2.1')]]]);
  runPacketFlowTests(t, ipt, [
    { name: 'pod to cluster IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: both },
    { name: 'pod to external IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: testExternalIP, destPort: 80, output: both },
    { name: 'external to external IP hits only local endpoint, unmasqueraded', sourceIP: testExternalClient, destIP: testExternalIP, destPort: 80, output: '10.180.2.1:80' },
    { name: 'pod to LB IP hits only both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: both },
    { name: 'external to LB IP hits only local endpoint, unmasqueraded', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: '10.180.2.1:80' },
    { name: 'pod to NodePort hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: testNodeIP, destPort: 3001, output: both },
    { name: 'external to NodePort hits only local endpoint, unmasqueraded', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: '10.180.2.1:80' },
  ]);
});

test('TestExternalTrafficPolicyCluster: everything external is masqueraded to both endpoints', async (t) => {
  const { ipt } = await sync([[externalPolicyService('Cluster'), [remote('10.180.0.1'), local('10.180.2.1')]]]);
  runPacketFlowTests(t, ipt, [
    { name: 'pod to cluster IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: both },
    { name: 'pod to external IP hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: testExternalIP, destPort: 80, output: both, masq: true },
    { name: 'external to external IP hits both endpoints, masqueraded', sourceIP: testExternalClient, destIP: testExternalIP, destPort: 80, output: both, masq: true },
    { name: 'pod to LB IP hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: both, masq: true },
    { name: 'external to LB IP hits both endpoints, masqueraded', sourceIP: testExternalClient, destIP: '1.2.3.4', destPort: 80, output: both, masq: true },
    { name: 'pod to NodePort hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: testNodeIP, destPort: 3001, output: both, masq: true },
    { name: 'external to NodePort hits both endpoints, masqueraded', sourceIP: testExternalClient, destIP: testNodeIP, destPort: 3001, output: both, masq: true },
  ]);
});
