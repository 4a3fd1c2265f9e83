import test from 'ava';
import { renderSkeleton } from '../../../src/nftables/layout.ts';
import { renderFullTransaction } from '../../../src/nftables/render.ts';
import { outermost } from '../../../src/nftables/service.ts';
import { ep, OPTIONS6, serviceLines, state, svc, toIPv6 } from './fixtures.ts';

// The IPv6 proxier's table, `ip6 ferry`: the same layout as the IPv4 one
// with ip6 expressions and ipv6_addr sets, as kube-proxy's ip6 kube-proxy table.
const T = 'ip6 ferry';
const CLUSTER_IP = toIPv6('172.30.0.45');
const LB_IP = toIPv6('5.6.7.8');
const [EP1, EP2] = [toIPv6('10.180.0.3'), toIPv6('10.180.0.4')];

test('golden (IPv6): the skeleton declares ipv6_addr sets and matches ip6 addresses; loopback ::1 never takes node ports', (t) => {
  const lines = renderSkeleton(OPTIONS6);
  t.deepEqual(lines.slice(0, 3), [`add table ${T}`, `delete table ${T}`, `add table ${T} { comment "rules for ferry proxy --mode nftables" ; }`]);
  t.true(lines.includes(`add set ${T} cluster-ips { type ipv6_addr ; comment "Active ClusterIPs" ; }`));
  t.true(lines.includes(`add set ${T} firewall-allow { type ipv6_addr . inet_proto . inet_service . ipv6_addr ; flags interval ; comment "sources allowed by loadBalancerSourceRanges" ; }`));
  t.true(lines.includes(`add map ${T} endpoints-tcp { typeof ip6 daddr . tcp dport . numgen random mod 1 : ip6 daddr . tcp dport ; }`));
  t.true(lines.includes(`add rule ${T} services ip6 daddr @cluster-ips ip6 saddr != fd00:10::/32 meta mark set meta mark | 0x4000`));
  t.true(lines.includes(`add rule ${T} services fib daddr type local ip6 daddr != ::1 meta l4proto . th dport vmap @service-nodeports`));
  t.true(lines.includes(`add rule ${T} masquerading ct status dnat ip6 saddr . ip6 daddr @hairpin-connections masquerade fully-random`));
  t.false(lines.some((l) => /\bip (saddr|daddr)\b|ipv4_addr/.test(l)), 'nothing of IPv4 in the IPv6 table');
});

test('golden (IPv6): a ClientIP LoadBalancer service with IPv6 source ranges gets ip6 affinity sets, bracketed DNAT targets and dotted names', (t) => {
  const s = svc('ns5', 'svc5', {
    type: 'LoadBalancer', clusterIPs: [CLUSTER_IP], nodePort: 3002, loadBalancerIPs: [LB_IP],
    loadBalancerSourceRanges: ['fd00:203:0:113::/64', '203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
  });
  const lines = serviceLines(renderFullTransaction(state([[s, [ep(EP1), ep(EP2, { isLocal: false })]]]), OPTIONS6));
  const chain = 'endpoint-YDRU3YZE-ns5/svc5/tcp/p80__fd00.10.180.0..3/80';
  t.true(lines.includes(`add set ${T} affinity-YDRU3YZE-ns5/svc5/tcp/p80__fd00.10.180.0..3/80 { type ipv6_addr ; flags dynamic,timeout ; timeout 10800s ; size 65535 ; }`), lines.join('\n'));
  t.true(lines.includes(`add rule ${T} ${chain} update @affinity-YDRU3YZE-ns5/svc5/tcp/p80__fd00.10.180.0..3/80 { ip6 saddr } meta l4proto tcp dnat to [${EP1}]:80`));
  t.true(lines.some((l) => l.startsWith(`add rule ${T} service-`) && l.includes(`ip6 saddr @affinity-YDRU3YZE-ns5/svc5/tcp/p80__fd00.10.180.0..3/80 goto ${chain}`)));
  t.true(lines.includes(`add element ${T} firewall-ips { ${LB_IP} . tcp . 80 }`));
  t.true(lines.includes(`add element ${T} firewall-allow { ${LB_IP} . tcp . 80 . fd00:203:0:113::/64 }`), 'only the IPv6 range: the IPv4 one is the other proxier\'s');
  t.true(lines.includes(`add element ${T} hairpin-connections { ${EP1} . ${EP1} }`));
});

test('golden (IPv6): flat services key the endpoint maps by IPv6 address and DNAT with ip6 addr . port', (t) => {
  const s = svc('ns1', 'svc1', { clusterIPs: [toIPv6('172.30.0.41')] });
  const lines = serviceLines(renderFullTransaction(state([[s, [ep(toIPv6('10.180.0.1'))]]]), OPTIONS6));
  t.deepEqual(lines, [
    `add chain ${T} lb-1`,
    ...['tcp', 'udp', 'sctp'].map((p) => `add rule ${T} lb-1 meta l4proto ${p} dnat ip6 addr . port to ip6 daddr . ${p} dport . numgen random mod 1 map @endpoints-${p}`),
    `add element ${T} endpoints-tcp { fd00:172:30:0::41 . 80 . 0 : fd00:10:180:0::1 . 80 }`,
    `add element ${T} cluster-ips { fd00:172:30:0::41 }`,
    `add element ${T} service-ips { fd00:172:30:0::41 . tcp . 80 : goto lb-1 }`,
    `add element ${T} hairpin-connections { fd00:10:180:0::1 . fd00:10:180:0::1 }`,
  ]);
});

test('nested IPv6 source ranges and bare addresses become one interval each', (t) => {
  t.deepEqual(outermost(['fd00:1::/64', 'fd00::/16', 'fd00:1::7', '2001:db8::/32']), ['fd00::/16', '2001:db8::/32']);
});
