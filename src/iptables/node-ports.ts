import { inAnyCIDR, nodePortCIDRs, type IPFamily } from '../endpoints/node-port-addresses.ts';

/** NodePortTargets is where a proxier of one family accepts NodePorts. */
export interface NodePortTargets {
  /** Local addresses that accept NodePorts, or 'all' (`-m addrtype --dst-type LOCAL`). */
  readonly nodePortIPs: readonly string[] | 'all';
  /** NodePorts also answer on 127.0.0.1 (IPv4 only: the flag is on and the addresses include it). */
  readonly localhostNodePorts: boolean;
}

/**
 * nodePortTargets applies `--nodeport-addresses` (the family's CIDRs, or
 * `primary`) and `--iptables-localhost-nodeports` to this node's addresses
 * of one family, as kube-proxy's iptables mode does: it turns localhost
 * NodePorts off when the addresses leave out 127.0.0.1, and always for IPv6,
 * where loopback cannot take NodePorts. Pure, for tests.
 */
export function nodePortTargets(
  flags: { readonly nodePortAddresses: readonly string[]; readonly localhostNodePorts: boolean },
  localIPs: readonly string[],
  primaryIPs: readonly string[] | undefined,
  family: IPFamily = 4,
): NodePortTargets {
  const loopback = family === 4 ? '127.0.0.1' : '::1';
  const localhost = flags.localhostNodePorts && family === 4;
  const cidrs = nodePortCIDRs(flags.nodePortAddresses, family, primaryIPs);
  if (cidrs === 'all') return { nodePortIPs: 'all', localhostNodePorts: localhost };
  return {
    nodePortIPs: [...new Set([...localIPs, loopback])].filter((ip) => inAnyCIDR(ip, cidrs)),
    localhostNodePorts: localhost && inAnyCIDR(loopback, cidrs),
  };
}
