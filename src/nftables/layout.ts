import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Protocol } from '../endpoints/proxy-state.ts';
import { NFPROTO_IPV4, NFPROTO_IPV6 } from '../netlink/nftables.ts';

/**
 * The fixed part of Ferry's nftables table: its name, base chains, named
 * sets and maps, and the rules that consult them. Everything per service is
 * an element of these maps (or, for ClientIP affinity, a few objects of the
 * service's own), so the rules below never change with the cluster.
 */

/** The tables Ferry owns, one per IP family as kube-proxy's; it never touches any other. */
export const TABLE_NAME = 'ferry';

/** NftFamily is what differs between the IPv4 and the IPv6 table. */
export interface NftFamily {
  readonly family: IPFamily;
  /** `ip ferry` or `ip6 ferry`, as commands name the table. */
  readonly table: string;
  /** nft's table family, which is also the address expression's protocol (`ip daddr`, `ip6 saddr`). */
  readonly nft: 'ip' | 'ip6';
  readonly addrType: 'ipv4_addr' | 'ipv6_addr';
  /** Loopback, which never accepts node ports in nftables mode. */
  readonly loopback: string;
  /** The table family's number on netlink. */
  readonly nfproto: number;
}

const FAMILIES: Readonly<Record<IPFamily, NftFamily>> = {
  4: { family: 4, table: `ip ${TABLE_NAME}`, nft: 'ip', addrType: 'ipv4_addr', loopback: '127.0.0.0/8', nfproto: NFPROTO_IPV4 },
  6: { family: 6, table: `ip6 ${TABLE_NAME}`, nft: 'ip6', addrType: 'ipv6_addr', loopback: '::1', nfproto: NFPROTO_IPV6 },
};

export function nftFamily(family: IPFamily): NftFamily {
  return FAMILIES[family];
}

/** The IPv4 table: the one lab nodes hold. */
export const TABLE = FAMILIES[4].table;
export const TABLE_FAMILY = FAMILIES[4].nft;

export const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type NftProtocol = (typeof PROTOCOLS)[number];

export function nftProtocol(p: Protocol): NftProtocol {
  return p.toLowerCase() as NftProtocol;
}

/** Named sets and maps, and what each holds. */
export const SETS = {
  /** Every cluster IP: local-traffic masquerade and the invalid-port reject. */
  clusterIPs: 'cluster-ips',
  /** addr . proto . port → goto the chain that picks an endpoint (cluster, external and LB IPs). */
  serviceIPs: 'service-ips',
  /** proto . nodePort → goto the chain that picks an endpoint. */
  serviceNodePorts: 'service-nodeports',
  /** addr . proto . port → goto reject-chain (no endpoints) or drop (no local endpoints). */
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  /** Local addresses that accept node ports, when --nodeport-addresses restricts them. */
  nodePortIPs: 'nodeport-ips',
  /** LB addr . proto . port with loadBalancerSourceRanges, and the ranges each allows. */
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
  /** endpoint . endpoint: a pod reaching itself through a service is masqueraded. */
  hairpin: 'hairpin-connections',
} as const;

/** endpointMap holds `daddr . port . slot → endpoint` for one protocol; `cluster` is eTP Local's short-circuit list. */
export function endpointMap(p: NftProtocol, cluster = false): string {
  return cluster ? `cluster-endpoints-${p}` : `endpoints-${p}`;
}

/** nodePortEndpointMap holds `nodePort . slot → endpoint` for one protocol. */
export function nodePortEndpointMap(p: NftProtocol, cluster = false): string {
  return cluster ? `nodeport-cluster-endpoints-${p}` : `nodeport-endpoints-${p}`;
}

export const REJECT_CHAIN = 'reject-chain';

/** LayoutOptions are the node- and flag-derived inputs of the fixed rules. */
export interface LayoutOptions {
  /** The table's family: every address below is of it. */
  readonly family: IPFamily;
  /** `--cluster-cidr` of this family: the first is the local-traffic detector; empty: none. */
  readonly clusterCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  /** e.g. `0x4000`. */
  readonly masqueradeMark: string;
  /** Node ports are accepted on every local address, or only on those in `nodeport-ips`. */
  readonly nodePortsOnAllAddresses: boolean;
}

// Numeric priorities, as knftables writes them: nft 1.0.6 refuses `dstnat` on the output hook.
const BASE_CHAINS: ReadonlyArray<readonly [name: string, type: 'filter' | 'nat', hook: string, priority: number]> = [
  ['filter-prerouting-pre-dnat', 'filter', 'prerouting', -110],
  ['filter-output-pre-dnat', 'filter', 'output', -110],
  ['filter-input', 'filter', 'input', 0],
  ['filter-forward', 'filter', 'forward', 0],
  ['filter-output', 'filter', 'output', 0],
  ['nat-prerouting', 'nat', 'prerouting', -100],
  ['nat-output', 'nat', 'output', -100],
  ['nat-postrouting', 'nat', 'postrouting', 100],
];

/** The chain the canary check reads: its one rule is present whenever the table is intact. */
export const CANARY_CHAIN = 'nat-prerouting';

const REGULAR_CHAINS = ['services', 'masquerading', REJECT_CHAIN, 'service-endpoints-check', 'nodeport-endpoints-check', 'cluster-ips-check', 'firewall-check'];

function setDeclarations({ table, nft: ip, addrType: addr }: NftFamily): string[] {
  const out = [
    `add set ${table} ${SETS.clusterIPs} { type ${addr} ; comment "Active ClusterIPs" ; }`,
    `add map ${table} ${SETS.serviceIPs} { type ${addr} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${table} ${SETS.serviceNodePorts} { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add map ${table} ${SETS.noEndpointServices} { type ${addr} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${table} ${SETS.noEndpointNodePorts} { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add set ${table} ${SETS.nodePortIPs} { type ${addr} ; comment "IPs that accept NodePort traffic" ; }`,
    `add set ${table} ${SETS.firewallIPs} { type ${addr} . inet_proto . inet_service ; comment "LoadBalancer IPs with loadBalancerSourceRanges" ; }`,
    `add set ${table} ${SETS.firewallAllow} { type ${addr} . inet_proto . inet_service . ${addr} ; flags interval ; comment "sources allowed by loadBalancerSourceRanges" ; }`,
    `add set ${table} ${SETS.hairpin} { type ${addr} . ${addr} ; comment "endpoints that may reach themselves through a service" ; }`,
  ];
  // Per-protocol typeof maps: nft 1.0.6 refuses later rules on a `th dport` concatenation map.
  for (const p of PROTOCOLS) {
    for (const cluster of [false, true]) {
      out.push(`add map ${table} ${endpointMap(p, cluster)} { typeof ${ip} daddr . ${p} dport . numgen random mod 1 : ${ip} daddr . ${p} dport ; }`);
      out.push(`add map ${table} ${nodePortEndpointMap(p, cluster)} { typeof ${p} dport . numgen random mod 1 : ${ip} daddr . ${p} dport ; }`);
    }
  }
  return out;
}

function fixedRules(o: LayoutOptions, { table, nft: ip, loopback }: NftFamily): string[] {
  const rule = (chain: string, text: string) => `add rule ${table} ${chain} ${text}`;
  const mark = o.masqueradeMark;
  const nodePortMatch = o.nodePortsOnAllAddresses ? `fib daddr type local ${ip} daddr != ${loopback}` : `${ip} daddr @${SETS.nodePortIPs}`;
  const out = [
    rule('nat-prerouting', 'jump services'),
    rule('nat-output', 'jump services'),
    rule('nat-postrouting', 'jump masquerading'),
    rule('filter-prerouting-pre-dnat', 'ct state new jump firewall-check'),
    rule('filter-output-pre-dnat', 'ct state new jump firewall-check'),
    rule('filter-input', 'ct state new jump nodeport-endpoints-check'),
    rule('filter-input', 'ct state new jump service-endpoints-check'),
    rule('filter-forward', 'ct state new jump service-endpoints-check'),
    rule('filter-forward', 'ct state new jump cluster-ips-check'),
    rule('filter-output', 'ct state new jump service-endpoints-check'),
    rule('filter-output', 'ct state new jump cluster-ips-check'),
    rule(REJECT_CHAIN, 'reject'),
    rule('firewall-check', `${ip} daddr . meta l4proto . th dport @${SETS.firewallIPs} ${ip} daddr . meta l4proto . th dport . ${ip} saddr != @${SETS.firewallAllow} drop`),
    rule('service-endpoints-check', `${ip} daddr . meta l4proto . th dport vmap @${SETS.noEndpointServices}`),
    rule('nodeport-endpoints-check', `${nodePortMatch} meta l4proto . th dport vmap @${SETS.noEndpointNodePorts}`),
    // Cluster IP traffic that reaches filtering was not DNATed: a port the service does not have.
    rule('cluster-ips-check', `${ip} daddr @${SETS.clusterIPs} reject comment "reject traffic to invalid ports of ClusterIPs"`),
    // Clear the mark so a packet processed again (a VXLAN skb reused) is not masqueraded twice.
    rule('masquerading', `meta mark & ${mark} == ${mark} meta mark set meta mark ^ ${mark} masquerade fully-random`),
    rule('masquerading', `ct status dnat ${ip} saddr . ${ip} daddr @${SETS.hairpin} masquerade fully-random`),
  ];
  if (o.masqueradeAll) out.push(rule('services', `${ip} daddr @${SETS.clusterIPs} meta mark set meta mark | ${mark}`));
  else if (o.clusterCIDRs[0]) out.push(rule('services', `${ip} daddr @${SETS.clusterIPs} ${ip} saddr != ${o.clusterCIDRs[0]} meta mark set meta mark | ${mark}`));
  out.push(rule('services', `${ip} daddr . meta l4proto . th dport vmap @${SETS.serviceIPs}`));
  out.push(rule('services', `${nodePortMatch} meta l4proto . th dport vmap @${SETS.serviceNodePorts}`));
  return out;
}

/**
 * renderSkeleton is the start of every full sync: the table replaced as a
 * whole (add + delete makes the delete safe when it does not exist yet), so
 * the kernel swaps old for new in one commit and nothing of an earlier
 * layout, or of someone's edits, survives.
 */
export function renderSkeleton(o: LayoutOptions): string[] {
  const f = nftFamily(o.family);
  const { table } = f;
  return [
    `add table ${table}`,
    `delete table ${table}`,
    `add table ${table} { comment "rules for ferry proxy --mode nftables" ; }`,
    ...BASE_CHAINS.map(([name, type, hook, priority]) => `add chain ${table} ${name} { type ${type} hook ${hook} priority ${priority} ; policy accept ; }`),
    ...REGULAR_CHAINS.map((name) => `add chain ${table} ${name}`),
    ...setDeclarations(f),
    ...fixedRules(o, f),
  ];
}
