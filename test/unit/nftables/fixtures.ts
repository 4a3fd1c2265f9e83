import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import type { RenderOptions } from '../../../src/nftables/service.ts';
import { proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';

// Addresses follow kube-proxy's proxier_test.go conventions: pods 10.180.0.0/16
// in cluster CIDR 10.0.0.0/8, cluster IPs 172.30.0.0/16, external IPs
// 192.168.99.0/24, LB IPs 1.2.3.4 and 5.6.7.8, the node 192.168.0.2.
export const NODE_IP = '192.168.0.2';

export const OPTIONS: RenderOptions = {
  family: 4,
  clusterCIDRs: ['10.0.0.0/8'],
  masqueradeAll: false,
  masqueradeMark: '0x4000',
  nodePortsOnAllAddresses: true,
  nodeIPs: [NODE_IP],
};

/** toIPv6 is the IPv6 fixtures' twin of an IPv4 address a.b.c.d: fd00:a:b:c::d. */
export const toIPv6 = (ip: string): string => {
  const o = ip.split('.');
  return `fd00:${o[0]}:${o[1]}:${o[2]}::${o[3]}`;
};

/** OPTIONS6 renders the IPv6 table, with the twins of OPTIONS' addresses. */
export const OPTIONS6: RenderOptions = { ...OPTIONS, family: 6, clusterCIDRs: ['fd00:10::/32'], nodeIPs: [toIPv6(NODE_IP)] };

export const svc = servicePort;

/** ep builds a ready endpoint on port 80, local unless said otherwise. */
export function ep(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return { ip, port: 80, ready: true, serving: true, terminating: false, isLocal: true, ...over };
}

export const state = (entries: ReadonlyArray<[ServicePort, Endpoint[]]>, changed?: readonly string[]): ProxyState => proxyState(entries, changed);

/** lines splits a transaction into its commands, without the fixed skeleton (from `add table` to the last fixed rule). */
export function serviceLines(text: string): string[] {
  return text.split('\n').filter((l) => l && !SKELETON_PREFIXES.some((p) => l.startsWith(p)));
}

const SKELETON_PREFIXES = [
  'add table', 'delete table',
  ...['ip ferry', 'ip6 ferry'].flatMap((t) => [
    ...['filter-', 'nat-', 'services', 'masquerading', 'reject-chain', 'service-endpoints-check', 'nodeport-endpoints-check', 'cluster-ips-check', 'firewall-check']
      .flatMap((c) => [`add chain ${t} ${c}`, `add rule ${t} ${c}`]),
    `add set ${t} cluster-ips {`, `add map ${t} `, `add set ${t} nodeport-ips {`, `add set ${t} firewall-`, `add set ${t} hairpin-connections {`,
  ]),
];
