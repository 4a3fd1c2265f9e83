import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Node } from 'kubernetes-types/core/v1.js';

/**
 * `--nodeport-addresses` as kube-proxy reads it (NewNodePortAddresses): each
 * proxy family keeps only its own family's CIDRs, and a family left with none
 * accepts NodePorts on every local address; the single value `primary` means
 * the node's primary IP of that family (from its Node object), or loopback
 * when the node's IP is unknown, as kube-proxy assumes then.
 */
export const NODE_PORT_ADDRESSES_PRIMARY = 'primary';

export type IPFamily = 4 | 6;

/** familyOf tells an address's family, or undefined when it is not an address. */
export const familyOf = (ip: string): IPFamily | undefined => (isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : undefined);

/** cidrFamily tells the family of a CIDR `ip/bits`, or undefined when it is not one. */
export function cidrFamily(cidr: string): IPFamily | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? familyOf(m[1]!) : undefined;
  if (!family || Number(m![2]) > (family === 4 ? 32 : 128)) return undefined;
  return family;
}

/**
 * cidrsOfFamily keeps one family's CIDRs, in order: kube-proxy's filterCIDRs,
 * which splits a dual-stack flag (`--cluster-cidr`, `--nodeport-addresses`,
 * `--ipvs-exclude-cidrs`) between the IPv4 and IPv6 proxiers.
 */
export function cidrsOfFamily(family: IPFamily, cidrs: readonly string[]): string[] {
  return cidrs.filter((cidr) => cidrFamily(cidr) === family);
}

/**
 * nodePortCIDRs returns the CIDRs that select one family's NodePort
 * addresses, or 'all' for every local address of that family. `flag` is
 * validated (CIDRs of either family, or exactly ['primary']).
 */
export function nodePortCIDRs(flag: readonly string[], family: IPFamily, primaryIPs: readonly string[] | undefined): readonly string[] | 'all' {
  if (flag.length === 1 && flag[0] === NODE_PORT_ADDRESSES_PRIMARY) {
    const primary = (primaryIPs ?? []).find((ip) => familyOf(ip) === family) ?? (family === 4 ? '127.0.0.1' : '::1');
    return [`${primary}/${family === 4 ? 32 : 128}`];
  }
  const mine = cidrsOfFamily(family, flag);
  return mine.length === 0 ? 'all' : mine;
}

/** inAnyCIDR tells whether an address lies in one of the CIDRs (of its own family). */
export function inAnyCIDR(ip: string, cidrs: readonly string[]): boolean {
  const family = familyOf(ip);
  if (!family) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    if (cidrFamily(cidr) !== family) continue;
    const [base, bits] = cidr.split('/');
    list.addSubnet(base!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * nodeHostIPs picks a Node's primary IPs as Kubernetes does (GetNodeHostIPs):
 * the first InternalIP (else ExternalIP), then the first address of the other
 * family, if any, for dual-stack nodes.
 */
export function nodeHostIPs(node: Node | undefined): string[] {
  const addresses = node?.status?.addresses ?? [];
  const ordered = [...addresses.filter((a) => a.type === 'InternalIP'), ...addresses.filter((a) => a.type === 'ExternalIP')].map((a) => a.address);
  const valid = ordered.filter((ip) => familyOf(ip) !== undefined);
  const first = valid[0];
  if (first === undefined) return [];
  const other = valid.find((ip) => familyOf(ip) !== familyOf(first));
  return other === undefined ? [first] : [first, other];
}
