import { BlockList } from 'node:net';
import { cidrFamily, familyOf, type IPFamily } from '../endpoints/node-port-addresses.ts';

/**
 * `--ipvs-exclude-cidrs`: virtual servers on these addresses belong to
 * someone else (another IPVS user on the node), so the IPVS proxier never
 * deletes them nor touches their real servers, as kube-proxy's
 * cleanLegacyService.
 */

/**
 * excludeCIDRsOf keeps one family's CIDRs, in order: kube-proxy's
 * filterCIDRs, which splits the list between NewDualStackProxier's IPv4 and
 * IPv6 proxiers. The CIDRs are validated (proxy-config-validate.ts).
 */
export function excludeCIDRsOf(family: IPFamily, cidrs: readonly string[]): string[] {
  return cidrs.filter((cidr) => cidrFamily(cidr) === family);
}

/** excludedAddresses returns a test for "this address lies in one of the CIDRs", built once per proxier. */
export function excludedAddresses(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [base, bits] = cidr.split('/');
    list.addSubnet(base!, Number(bits), cidrFamily(cidr) === 6 ? 'ipv6' : 'ipv4');
  }
  return (ip) => {
    const family = familyOf(ip);
    return family !== undefined && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
}
