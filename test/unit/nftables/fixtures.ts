import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import type { RenderOptions } from '../../../src/nftables/service.ts';
import { proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';

// Addresses follow kube-proxy's proxier_test.go conventions: pods 10.180.0.0/16
// in cluster CIDR 10.0.0.0/8, cluster IPs 172.30.0.0/16, external IPs
// 192.168.99.0/24, LB IPs 1.2.3.4 and 5.6.7.8, the node 192.168.0.2.
export const NODE_IP = '192.168.0.2';

export const OPTIONS: RenderOptions = {
  clusterCIDRs: ['10.0.0.0/8'],
  masqueradeAll: false,
  masqueradeMark: '0x4000',
  nodePortsOnAllAddresses: true,
  nodeIPs: [NODE_IP],
};

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
  ...['filter-', 'nat-', 'services', 'masquerading', 'reject-chain', 'service-endpoints-check', 'nodeport-endpoints-check', 'cluster-ips-check', 'firewall-check']
    .flatMap((c) => [`add chain ip ferry ${c}`, `add rule ip ferry ${c}`]),
  'add set ip ferry cluster-ips {', 'add map ip ferry ', 'add set ip ferry nodeport-ips {', 'add set ip ferry firewall-', 'add set ip ferry hairpin-connections {',
];
