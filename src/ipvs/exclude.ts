import { cidrFamily, type IPFamily } from '../endpoints/node-port-addresses.ts';

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
