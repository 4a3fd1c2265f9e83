import test from 'ava';
import { SET } from '../../../../src/ipvs/desired.ts';
import { FILTER_CHAINS, JUMPS, NAT_CHAINS, NO_ENDPOINTS_CHAIN } from '../../../../src/ipvs/iptables.ts';
import { chainRules, FakeNode, makeTestEndpointSlice, makeTestService, rule, testHostname } from './kube-proxy.ts';

// The iptables rules and ipsets of kube-proxy's IPVS proxier tests (source
// and the list of ported tests in kube-proxy.ts). Upstream's checkIptables
// compares each listed chain's rules, in order, by jump and matched set.

const lo = rule('RETURN', '', '127.0.0.0/8');
const masqRule = (text: string) => text.split('\n').find((l) => l.startsWith('-A KUBE-POSTROUTING') && l.includes('-j MASQUERADE') && !l.includes('--match-set'));

for (const randomFully of [false, true]) {
  test(`TestMasqueradeRule: HasRandomFully()=${randomFully}`, (t) => {
    const node = new FakeNode({ randomFully });
    node.sync();
    const masq = masqRule(node.rules());
    t.truthy(masq, 'a -j MASQUERADE rule in KUBE-POSTROUTING');
    t.is(masq!.includes('--random-fully'), randomFully);
  });
}

// Upstream's endpoints name the port's protocol UDP while the service port is TCP: not this port's.
test('TestLoadBalancer', (t) => {
  const node = new FakeNode()
    .addServices(makeTestService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }))
    .addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [{ name: 'p80', port: 80, protocol: 'UDP' }] }));
  node.sync();
  // Upstream's checkIPVS: 2 services; none at 1.2.3.4:3001, so no real server to compare.
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 2);
  t.is(ipvs['1.2.3.4:3001/TCP'], undefined);
  t.deepEqual(node.ipset(SET.loadBalancer), ['1.2.3.4,tcp:80']);
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-SERVICES'), [lo, rule('KUBE-LOAD-BALANCER', SET.loadBalancer), rule('KUBE-MARK-MASQ', SET.clusterIP), rule('KUBE-NODE-PORT'), rule('ACCEPT', SET.clusterIP), rule('ACCEPT', SET.loadBalancer)]);
  t.deepEqual(chainRules(text, 'KUBE-LOAD-BALANCER'), [rule('KUBE-MARK-MASQ')]);
});

test('TestOnlyLocalNodePorts', (t) => {
  const node = new FakeNode({ hostAddresses: ['100.101.102.103', '2001:db8::'], nodePortAddresses: ['100.101.102.0/24'] })
    .addServices(makeTestService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }], externalTrafficPolicy: 'Local' }))
    .addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: testHostname }, { addresses: ['10.180.1.1'], nodeName: 'other-hostname' }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 2);
  t.deepEqual(ipvs['100.101.102.103:3001/TCP']?.dests, ['10.180.0.1:80']);
  t.deepEqual(node.ipset(SET.nodePortTCP), ['3001']);
  t.deepEqual(node.ipset(SET.nodePortLocalTCP), ['3001']);
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-SERVICES'), [lo, rule('KUBE-MARK-MASQ', SET.clusterIP), rule('KUBE-NODE-PORT'), rule('ACCEPT', SET.clusterIP)]);
  t.deepEqual(chainRules(text, 'KUBE-NODE-PORT'), [rule('RETURN', SET.nodePortLocalTCP), rule('KUBE-MARK-MASQ', SET.nodePortTCP), rule('ACCEPT', SET.healthCheckNodePort)]);
});

test('TestHealthCheckNodePort: only valid health check node ports are in the set', (t) => {
  const svc = (name: string, healthCheckNodePort: number, externalTrafficPolicy: 'Local' | 'Cluster') =>
    makeTestService('ns1', name, { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3000 }], externalTrafficPolicy, healthCheckNodePort });
  // invalid-svc3's Cluster policy makes its health check node port invalid.
  const node = new FakeNode({ hostAddresses: ['100.101.102.103', '2001:db8::'], nodePortAddresses: ['100.101.102.0/24'] })
    .addServices(svc('valid-svc1', 30000, 'Local'), svc('valid-svc2', 30001, 'Local'), svc('invalid-svc3', 30002, 'Cluster'));
  node.sync();
  t.deepEqual(node.ipset(SET.healthCheckNodePort), ['30000', '30001']);
  t.deepEqual(chainRules(node.rules(), 'KUBE-NODE-PORT'), [rule('RETURN', SET.nodePortLocalTCP), rule('KUBE-MARK-MASQ', SET.nodePortTCP), rule('ACCEPT', SET.healthCheckNodePort)]);
});

test('TestLoadBalancerSourceRanges', (t) => {
  const node = new FakeNode()
    .addServices(makeTestService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], loadBalancerSourceRanges: ['10.0.0.0/8'] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }))
    .addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 2);
  t.deepEqual(ipvs['1.2.3.4:80/TCP']?.dests, ['10.180.0.1:80']);
  t.deepEqual(node.ipset(SET.loadBalancer), ['1.2.3.4,tcp:80']);
  t.deepEqual(node.ipset(SET.loadBalancerFW), ['1.2.3.4,tcp:80']);
  t.deepEqual(node.ipset(SET.loadBalancerSourceCIDR), ['1.2.3.4,tcp:80,10.0.0.0/8']);
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-SERVICES'), [lo, rule('KUBE-LOAD-BALANCER', SET.loadBalancer), rule('KUBE-MARK-MASQ', SET.clusterIP), rule('KUBE-NODE-PORT'), rule('ACCEPT', SET.clusterIP), rule('ACCEPT', SET.loadBalancer)]);
  t.deepEqual(chainRules(text, 'KUBE-PROXY-FIREWALL'), [rule('KUBE-SOURCE-RANGES-FIREWALL', SET.loadBalancerFW)]);
  t.deepEqual(chainRules(text, 'KUBE-SOURCE-RANGES-FIREWALL'), [rule('RETURN', SET.loadBalancerSourceCIDR), rule('DROP')]);
  // proxier.go: the node (its nodeIP is nil here, so in no range) must not reach the LB IP itself.
  t.true(text.includes('-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP'));
});

test('TestLoadBalancerSourceRanges (proxier.go): a range holding the node IP lets the node reach the LB IP', (t) => {
  const node = new FakeNode()
    .addServices(makeTestService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], loadBalancerSourceRanges: ['10.0.0.0/8'] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }));
  node.builder.setNodeIPs(['10.1.2.3']);
  node.sync();
  t.deepEqual(node.ipset(SET.loadBalancerSourceIP), ['1.2.3.4,tcp:80,1.2.3.4']);
  t.deepEqual(chainRules(node.rules(), 'KUBE-IPVS-OUT-FILTER'), []);
  t.deepEqual(chainRules(node.rules(), 'KUBE-SOURCE-RANGES-FIREWALL'), [rule('RETURN', SET.loadBalancerSourceCIDR), rule('RETURN', SET.loadBalancerSourceIP), rule('DROP')]);
});

test('TestAcceptIPVSTraffic', (t) => {
  const node = new FakeNode();
  const services: Array<['ClusterIP' | 'LoadBalancer' | 'NodePort', string, string]> = [['ClusterIP', '10.20.30.40', 'svc1'], ['LoadBalancer', '10.20.30.41', 'svc2'], ['NodePort', '10.20.30.42', 'svc3']];
  for (const [type, clusterIP, name] of services) {
    node.addServices(makeTestService('ns1', name, { type, clusterIP, ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 80 }], ...(type === 'ClusterIP' ? { externalIPs: ['5.6.7.8'] } : {}) }, type === 'LoadBalancer' ? { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } : {}));
  }
  node.sync();
  t.deepEqual(chainRules(node.rules(), 'KUBE-SERVICES'), [
    lo,
    rule('KUBE-LOAD-BALANCER', SET.loadBalancer),
    rule('KUBE-MARK-MASQ', SET.clusterIP),
    rule('KUBE-MARK-MASQ', SET.externalIP),
    rule('ACCEPT', SET.externalIP), // with externalTrafficOnlyArgs
    rule('ACCEPT', SET.externalIP), // with dstLocalOnlyArgs
    rule('KUBE-NODE-PORT'),
    rule('ACCEPT', SET.clusterIP),
    rule('ACCEPT', SET.loadBalancer),
  ]);
});

test('TestOnlyLocalLoadBalancing', (t) => {
  const node = new FakeNode()
    .addServices(makeTestService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }], externalTrafficPolicy: 'Local' }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }))
    .addSlices(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: testHostname }, { addresses: ['10.180.1.1'], nodeName: 'other-hostname' }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
  node.sync();
  const ipvs = node.ipvs();
  t.is(Object.keys(ipvs).length, 2);
  t.deepEqual(ipvs['1.2.3.4:80/TCP']?.dests, ['10.180.0.1:80'], 'the local endpoint only');
  t.deepEqual(node.ipset(SET.loadBalancer), ['1.2.3.4,tcp:80']);
  t.deepEqual(node.ipset(SET.loadBalancerLocal), ['1.2.3.4,tcp:80']);
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-SERVICES'), [lo, rule('KUBE-LOAD-BALANCER', SET.loadBalancer), rule('KUBE-MARK-MASQ', SET.clusterIP), rule('KUBE-NODE-PORT'), rule('ACCEPT', SET.clusterIP), rule('ACCEPT', SET.loadBalancer)]);
  t.deepEqual(chainRules(text, 'KUBE-LOAD-BALANCER'), [rule('RETURN', SET.loadBalancerLocal), rule('KUBE-MARK-MASQ')]);
});

test('TestCreateAndLinkKubeChain: the chains and their jumps', (t) => {
  const node = new FakeNode();
  node.sync();
  const declared = (table: string) => {
    const lines = node.rules().split('\n');
    const from = lines.indexOf(`*${table}`);
    return lines.slice(from + 1, lines.indexOf('COMMIT', from)).filter((l) => l.startsWith(':')).join('\n') + '\n';
  };
  t.is(declared('nat'), ':KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-NODE-PORT - [0:0]\n:KUBE-LOAD-BALANCER - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n');
  // Ferry's one addition: its chain of REJECTs for services without endpoints.
  t.is(
    declared('filter'),
    `:KUBE-FORWARD - [0:0]\n:KUBE-NODE-PORT - [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n:KUBE-SOURCE-RANGES-FIREWALL - [0:0]\n:KUBE-IPVS-FILTER - [0:0]\n:KUBE-IPVS-OUT-FILTER - [0:0]\n:${NO_ENDPOINTS_CHAIN} - [0:0]\n`,
  );
  t.deepEqual([NAT_CHAINS.length, FILTER_CHAINS.length], [5, 7]);
  // proxier.go's iptablesJumpChain.
  const jumps = JUMPS.filter((j) => j.target !== NO_ENDPOINTS_CHAIN).map((j) => `${j.table} ${j.chain} ${j.rule}`);
  t.deepEqual(jumps, [
    'nat OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    'nat PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    'nat POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    'filter FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    'filter INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
    'filter INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    'filter FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    'filter INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
    'filter OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
  ]);
});

test('TestDismissLocalhostRuleExist: ipv4 rule', (t) => {
  const node = new FakeNode();
  node.sync();
  const rules = chainRules(node.rules(), 'KUBE-SERVICES');
  t.true(rules.length > 0, 'skip loop back ip in kubeservice chain exists');
  t.deepEqual(rules[0], rule('RETURN', '', '127.0.0.0/8'));
});

test('KUBE-FORWARD (proxier.go): marked and established traffic is accepted; no INVALID drop in IPVS mode', (t) => {
  const node = new FakeNode();
  node.sync();
  const text = node.rules();
  t.deepEqual(chainRules(text, 'KUBE-FORWARD'), [rule('ACCEPT'), rule('ACCEPT')]);
  t.true(text.includes('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT'));
  t.true(text.includes('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'));
  t.false(text.includes('INVALID'));
  t.deepEqual(chainRules(text, 'KUBE-IPVS-FILTER'), [
    rule('RETURN', SET.loadBalancer), rule('RETURN', SET.clusterIP), rule('RETURN', SET.externalIP), rule('RETURN', SET.externalIPLocal), rule('RETURN', SET.healthCheckNodePort), rule('REJECT', SET.ipvsIPs),
  ]);
});
