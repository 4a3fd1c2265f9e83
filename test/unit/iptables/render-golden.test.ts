import test from 'ava';
import { renderRules } from '../../../src/iptables/render.ts';
import { FakeIptables, tracePacket } from '../../helpers/iptables-tracer.ts';
import { dedent, ep, NODE_IP, normalize, OPTIONS, state, svc } from './fixtures.ts';

// Golden cases of the renderer for kube-proxy's own scenarios
// (after TestOverallIPTablesRulesWithMultipleServices and friends of older
// proxier_test.go versions; kube-proxy.ts lists the carried ones): the same
// inputs must give the same chain names and the same rules.

const multiple = state([
  [svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]],
  [
    svc('ns2', 'svc2', {
      type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'], externalTrafficPolicy: 'Local', healthCheckNodePort: 30000,
    }),
    [ep('10.180.0.2')],
  ],
  [svc('ns3', 'svc3', { clusterIPs: ['172.30.0.43'] }), []],
  [
    svc('ns5', 'svc5', {
      type: 'LoadBalancer', clusterIPs: ['172.30.0.45'], nodePort: 3002, loadBalancerIPs: ['5.6.7.8'],
      loadBalancerSourceRanges: ['203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
    }),
    [ep('10.180.0.3'), ep('10.180.0.4', { isLocal: false })],
  ],
]);

test('golden: multiple services, full sync, one stale chain deleted', (t) => {
  const out = renderRules({ state: multiple, full: true, installedChains: new Set(['KUBE-SVC-AAAAAAAAAAAAAAAA']), jumps: [] }, OPTIONS);
  const expected = dedent(`
      *filter
      :KUBE-NODEPORTS - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-EXTERNAL-SERVICES - [0:0]
      :KUBE-FORWARD - [0:0]
      :KUBE-PROXY-FIREWALL - [0:0]
      :KUBE-PROXY-CANARY - [0:0]
      :KUBE-FIREWALL - [0:0]
      -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
      -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      -A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
      -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j REJECT
      -A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
      COMMIT
      *nat
      :KUBE-NODEPORTS - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-POSTROUTING - [0:0]
      :KUBE-PROXY-CANARY - [0:0]
      :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
      :KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
      :KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
      :KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
      :KUBE-SVL-GNZBNJ2PO5MGZ6GT - [0:0]
      :KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
      :KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
      :KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
      :KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
      :KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
      :KUBE-SEP-4XN4Y7BLDMS4FVTY - [0:0]
      :KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
      -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
      -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
      -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
      -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
      -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
      -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
      -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
      -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
      -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
      -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
      -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
      -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
      -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
      -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -j KUBE-SVL-GNZBNJ2PO5MGZ6GT
      -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
      -A KUBE-SVL-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
      -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
      -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
      -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
      -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
      -A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
      -A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
      -A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
      -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
      -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
      -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
      -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.4:80" -m recent --name KUBE-SEP-4XN4Y7BLDMS4FVTY --rcheck --seconds 10800 --reap -j KUBE-SEP-4XN4Y7BLDMS4FVTY
      -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-I77PXRDZVX7PMWMN
      -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.4:80" -j KUBE-SEP-4XN4Y7BLDMS4FVTY
      -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
      -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
      -A KUBE-SEP-4XN4Y7BLDMS4FVTY -m comment --comment ns5/svc5:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
      -A KUBE-SEP-4XN4Y7BLDMS4FVTY -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-4XN4Y7BLDMS4FVTY --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
      -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
      -X KUBE-SVC-AAAAAAAAAAAAAAAA
      COMMIT
      *mangle
      :KUBE-PROXY-CANARY - [0:0]
      COMMIT
  `);
  t.is(normalize(out.text), normalize(expected));
  t.is(out.deletedChains, 1);
});

const flows: Array<{ name: string; sourceIP: string; destIP: string; destPort: number; output: string; masq: boolean }> = [
  { name: 'pod to cluster IP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: false },
  { name: 'external to cluster IP is masqueraded', sourceIP: '203.0.113.200', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: true },
  { name: 'cluster IP without endpoints is rejected', sourceIP: '10.0.0.2', destIP: '172.30.0.43', destPort: 80, output: 'REJECT', masq: false },
  { name: 'eTP Local node port keeps the source', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 3001, output: '10.180.0.2:80', masq: false },
  { name: 'eTP Local node port from the node itself is masqueraded', sourceIP: NODE_IP, destIP: NODE_IP, destPort: 3001, output: '10.180.0.2:80', masq: true },
  { name: 'eTP Cluster node port is masqueraded, both endpoints', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 3002, output: '10.180.0.3:80, 10.180.0.4:80', masq: true },
  { name: 'LB IP from an allowed range', sourceIP: '203.0.113.5', destIP: '5.6.7.8', destPort: 80, output: '10.180.0.3:80, 10.180.0.4:80', masq: true },
  { name: 'LB IP from elsewhere is dropped', sourceIP: '203.0.113.200', destIP: '5.6.7.8', destPort: 80, output: 'DROP', masq: false },
  { name: 'hairpin: an endpoint reaching itself is masqueraded', sourceIP: '10.180.0.1', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: true },
  { name: 'wrong port falls through', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 81, output: '', masq: false },
];

for (const tc of flows) {
  test(`trace: ${tc.name}`, async (t) => {
    const ipt = new FakeIptables();
    await ipt.restore(renderRules({ state: multiple, full: true, installedChains: new Set(), jumps: [] }, OPTIONS).text);
    t.deepEqual(tracePacket(ipt, tc, [NODE_IP]), { output: tc.output, masq: tc.masq });
  });
}

test('iTP Local + eTP Local node port: the short-circuit target KUBE-SVC exists (restore accepts it)', async (t) => {
  const both = state([[svc('ns2', 'svc2', { type: 'NodePort', clusterIPs: ['172.30.0.42'], nodePort: 3001, internalTrafficPolicy: 'Local', externalTrafficPolicy: 'Local' }), [ep('10.180.0.2'), ep('10.180.1.1', { isLocal: false })]]]);
  const ipt = new FakeIptables();
  await ipt.restore(renderRules({ state: both, full: true, installedChains: new Set(), jumps: [] }, OPTIONS).text);
  t.is(tracePacket(ipt, { sourceIP: '10.0.0.5', destIP: NODE_IP, destPort: 3001 }, [NODE_IP]).output, '10.180.0.2:80, 10.180.1.1:80', 'pods short-circuit to all endpoints');
  t.is(tracePacket(ipt, { sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 3001 }, [NODE_IP]).output, '10.180.0.2:80', 'external clients get local endpoints');
  t.is(tracePacket(ipt, { sourceIP: '10.0.0.5', destIP: '172.30.0.42', destPort: 80 }, [NODE_IP]).output, '10.180.0.2:80', 'cluster IP is iTP Local');
});

// eTP Local with endpoints only on other nodes (kube-proxy's "endpoints
// anywhere?" gating): pods and the node reach the remote endpoints through
// KUBE-EXT → KUBE-SVC on every external address; outside clients are dropped.
const remoteOnly = state([
  [
    svc('ns2', 'svc2', {
      type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['203.0.113.0/25', '10.0.0.0/8', '192.168.0.0/24'],
      externalTrafficPolicy: 'Local', healthCheckNodePort: 30000,
    }),
    [ep('10.180.1.1', { isLocal: false })],
  ],
]);

const remoteOnlyFlows: Array<{ name: string; sourceIP: string; destIP: string; destPort: number; output: string; masq: boolean }> = [
  { name: 'pod to node port', sourceIP: '10.0.0.2', destIP: NODE_IP, destPort: 3001, output: '10.180.1.1:80', masq: false },
  { name: 'node to its node port is masqueraded', sourceIP: NODE_IP, destIP: NODE_IP, destPort: 3001, output: '10.180.1.1:80', masq: true },
  { name: 'outside client to node port is dropped', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 3001, output: 'DROP', masq: false },
  { name: 'pod to external IP', sourceIP: '10.0.0.2', destIP: '192.168.99.22', destPort: 80, output: '10.180.1.1:80', masq: false },
  { name: 'outside client to external IP is dropped', sourceIP: '203.0.113.200', destIP: '192.168.99.22', destPort: 80, output: 'DROP', masq: false },
  { name: 'pod to LB IP (allowed range) goes through KUBE-FW', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: '10.180.1.1:80', masq: false },
  { name: 'node to LB IP is masqueraded', sourceIP: NODE_IP, destIP: '1.2.3.4', destPort: 80, output: '10.180.1.1:80', masq: true },
  // Both KUBE-EXTERNAL-SERVICES ("no local endpoints") and KUBE-PROXY-FIREWALL drop it.
  { name: 'allowed outside client to LB IP is dropped (no local endpoints)', sourceIP: '203.0.113.5', destIP: '1.2.3.4', destPort: 80, output: 'DROP, DROP', masq: false },
  { name: 'blocked outside client to LB IP is dropped', sourceIP: '203.0.113.200', destIP: '1.2.3.4', destPort: 80, output: 'DROP, DROP', masq: false },
  { name: 'cluster IP still served', sourceIP: '10.0.0.2', destIP: '172.30.0.42', destPort: 80, output: '10.180.1.1:80', masq: false },
];

for (const tc of remoteOnlyFlows) {
  test(`trace eTP Local, remote endpoints only: ${tc.name}`, async (t) => {
    const ipt = new FakeIptables();
    await ipt.restore(renderRules({ state: remoteOnly, full: true, installedChains: new Set(), jumps: [] }, OPTIONS).text);
    t.deepEqual(tracePacket(ipt, tc, [NODE_IP]), { output: tc.output, masq: tc.masq });
  });
}

// An unnamed port is `ns/name` in kube-proxy (no trailing colon), which names
// its chains and comments. Expected lines from kube-proxy's expected dump for
// this service (ns1/svc1, cluster IP 172.30.1.1, endpoints 10.0.1.1-3) in
// the TestInternalTrafficPolicyE2E of pkg/proxy/iptables/proxier_test.go
// before its packet-flow rewrite; the file at
// aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212 checks the
// same service with packet flows only (TestInternalTrafficPolicy).
test('golden: unnamed port is ns/name, with kube-proxy chain hashes and comments', (t) => {
  const unnamed = svc('ns1', 'svc1', { portName: '', clusterIPs: ['172.30.1.1'] });
  t.is(unnamed.key, 'ns1/svc1');
  const out = renderRules({ state: state([[unnamed, ['10.0.1.1', '10.0.1.2', '10.0.1.3'].map((ip) => ep(ip))]]), full: true, installedChains: new Set(), jumps: [] }, OPTIONS);
  const expected = [
    '-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80',
    '-A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -s 10.0.1.2 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.2:80',
    '-A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -s 10.0.1.3 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.3:80',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -j KUBE-SEP-XGJFVO3L2O5SRFNT',
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP',
  ];
  for (const line of expected) t.true(out.text.includes(line), `missing: ${line}`);
});
