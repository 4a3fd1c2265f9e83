import { inAnyCIDR, nodePortCIDRs } from '../endpoints/node-port-addresses.ts';

/** NodePortTargets is where this (IPv4) proxier accepts NodePorts. */
export interface NodePortTargets {
  /** Local addresses that accept NodePorts, or 'all' (`-m addrtype --dst-type LOCAL`). */
  readonly nodePortIPs: readonly string[] | 'all';
  /** NodePorts also answer on 127.0.0.1 (the flag is on and the addresses include it). */
  readonly localhostNodePorts: boolean;
}

/**
 * nodePortTargets applies `--nodeport-addresses` (IPv4 CIDRs only, or
 * `primary`) and `--iptables-localhost-nodeports` to this node's IPv4
 * addresses, as kube-proxy's iptables mode does: it turns localhost NodePorts
 * off when the addresses leave out 127.0.0.1. Pure, for tests.
 */
export function nodePortTargets(
  flags: { readonly nodePortAddresses: readonly string[]; readonly localhostNodePorts: boolean },
  localIPs: readonly string[],
  primaryIPs: readonly string[] | undefined,
): NodePortTargets {
  const cidrs = nodePortCIDRs(flags.nodePortAddresses, 4, primaryIPs);
  if (cidrs === 'all') return { nodePortIPs: 'all', localhostNodePorts: flags.localhostNodePorts };
  return {
    nodePortIPs: [...new Set([...localIPs, '127.0.0.1'])].filter((ip) => inAnyCIDR(ip, cidrs)),
    localhostNodePorts: flags.localhostNodePorts && inAnyCIDR('127.0.0.1', cidrs),
  };
}
