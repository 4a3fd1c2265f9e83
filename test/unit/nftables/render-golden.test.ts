import test from 'ava';
import { renderSkeleton } from '../../../src/nftables/layout.ts';
import { renderFullTransaction } from '../../../src/nftables/render.ts';
import { outermost } from '../../../src/nftables/service.ts';
import { TableModel } from '../../../src/nftables/table-model.ts';
import { ep, OPTIONS, serviceLines, state, svc } from './fixtures.ts';

// Golden cases of the flat layout for kube-proxy's TestOverallNFTablesRules
// scenario (a plain service, an eTP Local LoadBalancer with a remote
// endpoint, no endpoints, iTP Local without local endpoints, a ClientIP
// LoadBalancer with source ranges). The text is what nft receives.

const svc2 = svc('ns2', 'svc2', {
  type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'], loadBalancerIPs: ['1.2.3.4'],
  externalTrafficPolicy: 'Local', healthCheckNodePort: 30000,
});
const svc5 = svc('ns5', 'svc5', {
  type: 'LoadBalancer', clusterIPs: ['172.30.0.45'], nodePort: 3002, loadBalancerIPs: ['5.6.7.8'],
  loadBalancerSourceRanges: ['203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
});
const multiple = state([
  [svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]],
  [svc2, [ep('10.180.0.2'), ep('10.180.1.1', { isLocal: false })]],
  [svc('ns3', 'svc3', { clusterIPs: ['172.30.0.43'] }), []],
  [svc('ns4', 'svc4', { clusterIPs: ['172.30.0.44'], protocol: 'UDP', port: 53, portName: 'dns', internalTrafficPolicy: 'Local' }), [ep('10.180.1.1', { isLocal: false, port: 53 })]],
  [svc5, [ep('10.180.0.3'), ep('10.180.0.4', { isLocal: false })]],
]);

const T = 'ip ferry';
const lbRules = (chain: string, n: number, key: (p: string) => string, map: (p: string) => string) =>
  ['tcp', 'udp', 'sctp'].map((p) => `add rule ${T} ${chain} meta l4proto ${p} dnat ip addr . port to ${key(p)} . numgen random mod ${n} map @${map(p)}`);
const vip = (p: string) => `ip daddr . ${p} dport`;
const np = (p: string) => `${p} dport`;
const EP3 = 'EZ4IPXLV-ns5/svc5/tcp/p80__10.180.0.3/80';
const EP4 = '3PEG3COT-ns5/svc5/tcp/p80__10.180.0.4/80';
const SVC5 = 'NUKIZ6OK-ns5/svc5/tcp/p80';

test('golden: full sync of several services in the flat layout', (t) => {
  t.deepEqual(serviceLines(renderFullTransaction(multiple, OPTIONS)), [
    `add chain ${T} lb-1`,
    `add chain ${T} lb-2`,
    `add chain ${T} lb-cluster-2`,
    `add chain ${T} external-local-1-of-2`,
    `add chain ${T} nodeport-lb-cluster-2`,
    `add chain ${T} nodeport-lb-1`,
    `add chain ${T} nodeport-external-local-1-of-2`,
    `add set ${T} affinity-${EP3} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; size 65535 ; }`,
    `add set ${T} affinity-${EP4} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; size 65535 ; }`,
    `add chain ${T} endpoint-${EP3}`,
    `add chain ${T} endpoint-${EP4}`,
    `add chain ${T} service-${SVC5}`,
    `add chain ${T} external-${SVC5}`,
    ...lbRules('lb-1', 1, vip, (p) => `endpoints-${p}`),
    ...lbRules('lb-2', 2, vip, (p) => `endpoints-${p}`),
    ...lbRules('lb-cluster-2', 2, vip, (p) => `cluster-endpoints-${p}`),
    `add rule ${T} external-local-1-of-2 ip saddr 10.0.0.0/8 goto lb-cluster-2 comment "short-circuit pod traffic"`,
    `add rule ${T} external-local-1-of-2 fib saddr type local meta mark set meta mark | 0x4000 goto lb-cluster-2 comment "short-circuit and masquerade traffic from this node"`,
    `add rule ${T} external-local-1-of-2 goto lb-1`,
    ...lbRules('nodeport-lb-cluster-2', 2, np, (p) => `nodeport-cluster-endpoints-${p}`),
    ...lbRules('nodeport-lb-1', 1, np, (p) => `nodeport-endpoints-${p}`),
    `add rule ${T} nodeport-external-local-1-of-2 ip saddr 10.0.0.0/8 goto nodeport-lb-cluster-2 comment "short-circuit pod traffic"`,
    `add rule ${T} nodeport-external-local-1-of-2 fib saddr type local meta mark set meta mark | 0x4000 goto nodeport-lb-cluster-2 comment "short-circuit and masquerade traffic from this node"`,
    `add rule ${T} nodeport-external-local-1-of-2 goto nodeport-lb-1`,
    `add rule ${T} endpoint-${EP3} update @affinity-${EP3} { ip saddr } meta l4proto tcp dnat to 10.180.0.3:80`,
    `add rule ${T} endpoint-${EP4} update @affinity-${EP4} { ip saddr } meta l4proto tcp dnat to 10.180.0.4:80`,
    `add rule ${T} service-${SVC5} ip saddr @affinity-${EP3} goto endpoint-${EP3}`,
    `add rule ${T} service-${SVC5} ip saddr @affinity-${EP4} goto endpoint-${EP4}`,
    `add rule ${T} service-${SVC5} numgen random mod 2 vmap { 0 : goto endpoint-${EP3}, 1 : goto endpoint-${EP4} }`,
    `add rule ${T} external-${SVC5} meta mark set meta mark | 0x4000 goto service-${SVC5}`,
    `add element ${T} endpoints-tcp { 172.30.0.41 . 80 . 0 : 10.180.0.1 . 80, 172.30.0.42 . 80 . 0 : 10.180.0.2 . 80, 172.30.0.42 . 80 . 1 : 10.180.1.1 . 80, 192.168.99.22 . 80 . 0 : 10.180.0.2 . 80, 1.2.3.4 . 80 . 0 : 10.180.0.2 . 80 }`,
    `add element ${T} cluster-ips { 172.30.0.41, 172.30.0.42, 172.30.0.43, 172.30.0.44, 172.30.0.45 }`,
    `add element ${T} service-ips { 172.30.0.41 . tcp . 80 : goto lb-1, 172.30.0.42 . tcp . 80 : goto lb-2, 192.168.99.22 . tcp . 80 : goto external-local-1-of-2, 1.2.3.4 . tcp . 80 : goto external-local-1-of-2, 172.30.0.45 . tcp . 80 : goto service-${SVC5}, 5.6.7.8 . tcp . 80 : goto external-${SVC5} }`,
    `add element ${T} hairpin-connections { 10.180.0.1 . 10.180.0.1, 10.180.0.2 . 10.180.0.2, 10.180.0.3 . 10.180.0.3 }`,
    `add element ${T} cluster-endpoints-tcp { 192.168.99.22 . 80 . 0 : 10.180.0.2 . 80, 192.168.99.22 . 80 . 1 : 10.180.1.1 . 80, 1.2.3.4 . 80 . 0 : 10.180.0.2 . 80, 1.2.3.4 . 80 . 1 : 10.180.1.1 . 80 }`,
    `add element ${T} nodeport-endpoints-tcp { 3001 . 0 : 10.180.0.2 . 80 }`,
    `add element ${T} nodeport-cluster-endpoints-tcp { 3001 . 0 : 10.180.0.2 . 80, 3001 . 1 : 10.180.1.1 . 80 }`,
    `add element ${T} service-nodeports { tcp . 3001 : goto nodeport-external-local-1-of-2, tcp . 3002 : goto external-${SVC5} }`,
    `add element ${T} no-endpoint-services { 172.30.0.43 . tcp . 80 : goto reject-chain, 172.30.0.44 . udp . 53 : drop }`,
    `add element ${T} firewall-ips { 5.6.7.8 . tcp . 80 }`,
    `add element ${T} firewall-allow { 5.6.7.8 . tcp . 80 . 203.0.113.0/25 }`,
  ]);
});

test('golden: the skeleton replaces the table atomically and follows the masquerade options', (t) => {
  const lines = renderSkeleton(OPTIONS);
  t.deepEqual(lines.slice(0, 3), [`add table ${T}`, `delete table ${T}`, `add table ${T} { comment "rules for ferry proxy --mode nftables" ; }`]);
  t.true(lines.includes(`add chain ${T} nat-output { type nat hook output priority -100 ; policy accept ; }`), 'numeric priorities');
  t.true(lines.includes(`add rule ${T} services ip daddr @cluster-ips ip saddr != 10.0.0.0/8 meta mark set meta mark | 0x4000`));
  const all = renderSkeleton({ ...OPTIONS, masqueradeAll: true, masqueradeMark: '0x8000' });
  t.true(all.includes(`add rule ${T} services ip daddr @cluster-ips meta mark set meta mark | 0x8000`));
  const none = renderSkeleton({ ...OPTIONS, clusterCIDRs: [] });
  t.false(none.some((l) => l.includes('@cluster-ips ip saddr') || l.includes('@cluster-ips meta mark')), 'no local detector: no cluster IP masquerade');
  const restricted = renderSkeleton({ ...OPTIONS, nodePortsOnAllAddresses: false });
  t.true(restricted.includes(`add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`));
  t.true(restricted.includes(`add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`));
});

test('golden: eTP Local without local endpoints short-circuits pods and the node, and drops the rest', (t) => {
  const svc6 = svc('ns6', 'svc6', { type: 'NodePort', clusterIPs: ['172.30.0.46'], nodePort: 3006, externalIPs: ['192.168.99.66'], externalTrafficPolicy: 'Local' });
  const lines = serviceLines(renderFullTransaction(state([[svc6, [ep('10.180.1.1', { isLocal: false })]]]), OPTIONS));
  t.deepEqual(lines.filter((l) => l.includes('external-local')), [
    `add chain ${T} external-local-0-of-1`,
    `add chain ${T} nodeport-external-local-0-of-1`,
    `add rule ${T} external-local-0-of-1 ip saddr 10.0.0.0/8 goto lb-cluster-1 comment "short-circuit pod traffic"`,
    `add rule ${T} external-local-0-of-1 fib saddr type local meta mark set meta mark | 0x4000 goto lb-cluster-1 comment "short-circuit and masquerade traffic from this node"`,
    `add rule ${T} nodeport-external-local-0-of-1 ip saddr 10.0.0.0/8 goto nodeport-lb-cluster-1 comment "short-circuit pod traffic"`,
    `add rule ${T} nodeport-external-local-0-of-1 fib saddr type local meta mark set meta mark | 0x4000 goto nodeport-lb-cluster-1 comment "short-circuit and masquerade traffic from this node"`,
    `add element ${T} service-ips { 172.30.0.46 . tcp . 80 : goto lb-1, 192.168.99.66 . tcp . 80 : goto external-local-0-of-1 }`,
    `add element ${T} service-nodeports { tcp . 3006 : goto nodeport-external-local-0-of-1 }`,
  ]);
  t.true(lines.includes(`add element ${T} no-endpoint-services { 192.168.99.66 . tcp . 80 : drop }`));
  t.true(lines.includes(`add element ${T} no-endpoint-nodeports { tcp . 3006 : drop }`));
});

test('golden: terminating endpoints serve only when nothing is ready', (t) => {
  const s = svc('ns7', 'svc7', { clusterIPs: ['172.30.0.47'] });
  const terminating = { ready: false, serving: true, terminating: true };
  const both = serviceLines(renderFullTransaction(state([[s, [ep('10.180.0.1'), ep('10.180.0.2', terminating)]]]), OPTIONS));
  t.true(both.includes(`add element ${T} endpoints-tcp { 172.30.0.47 . 80 . 0 : 10.180.0.1 . 80 }`));
  const only = serviceLines(renderFullTransaction(state([[s, [ep('10.180.0.2', terminating), ep('10.180.0.3', { ...terminating, serving: false })]]]), OPTIONS));
  t.true(only.includes(`add element ${T} endpoints-tcp { 172.30.0.47 . 80 . 0 : 10.180.0.2 . 80 }`));
});

test('a model reset by a full sync renders the same text as a fresh one', (t) => {
  const model = new TableModel(OPTIONS);
  model.full(state([[svc('a', 'b', { clusterIPs: ['172.30.9.9'] }), [ep('10.180.9.9')]]]), []);
  t.is(model.full(multiple, []).text, renderFullTransaction(multiple, OPTIONS));
});

test('golden: source ranges of the other family only leave the LB IP unfiltered; a range holding the node lets its LB IPs in', (t) => {
  const lb = (ranges: string[]) => svc('ns8', 'svc8', { type: 'LoadBalancer', clusterIPs: ['172.30.0.48'], nodePort: 3008, loadBalancerIPs: ['5.6.7.9'], loadBalancerSourceRanges: ranges });
  const v6 = serviceLines(renderFullTransaction(state([[lb(['fd00::/64']), [ep('10.180.0.8')]]]), OPTIONS));
  t.false(v6.some((l) => l.includes('firewall-')));
  const withNode = serviceLines(renderFullTransaction(state([[lb(['192.168.0.0/24', 'fd00::/64']), [ep('10.180.0.8')]]]), OPTIONS));
  t.true(withNode.includes(`add element ${T} firewall-ips { 5.6.7.9 . tcp . 80 }`));
  t.true(withNode.includes(`add element ${T} firewall-allow { 5.6.7.9 . tcp . 80 . 192.168.0.0/24, 5.6.7.9 . tcp . 80 . 5.6.7.9 }`));
});

test('nested and repeated source ranges become one interval each (an interval set refuses overlaps)', (t) => {
  t.deepEqual(outermost(['10.1.0.0/16', '10.0.0.0/8', '10.0.0.0/8', '192.168.0.0/24', '192.168.0.7']), ['10.0.0.0/8', '192.168.0.0/24']);
  t.deepEqual(outermost(['1.2.3.4', '1.2.3.5']), ['1.2.3.4', '1.2.3.5']);
});
