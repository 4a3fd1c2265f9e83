import { writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { inAnyCIDR, nodePortCIDRs } from '../endpoints/node-port-addresses.ts';
import type { InterfaceAddress } from '../netlink/rtnl.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('ipvs');

/**
 * Host settings IPVS mode needs, as kube-proxy sets them. All are per network
 * namespace: they apply to the namespace the proxy runs in (a lab node's
 * namespace in tests, never the machine's root namespace).
 */
const SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ['net/ipv4/ip_forward', '1'],
  // Let netfilter see IPVS connections, so MASQUERADE in POSTROUTING applies to them.
  ['net/ipv4/vs/conntrack', '1'],
  // Drop connections to a deleted real server at once instead of letting them hang.
  ['net/ipv4/vs/expire_nodest_conn', '1'],
  // Persistence templates pointing at a weight-0 (terminating) server expire, so affinity moves on.
  ['net/ipv4/vs/expire_quiescent_template', '1'],
];

export async function applySysctls(): Promise<void> {
  for (const [key, value] of SYSCTLS) {
    try {
      await writeFile(`/proc/sys/${key}`, value);
    } catch (e) {
      log.warn('Could not set sysctl', { key, value, err: e });
    }
  }
}

// As kube-proxy's isValidForSet: loopback and IPv6 link-local never; IPv4 link-local (169.254/16) counts.
const unusable = (ip: string): boolean => ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('fe80:');

/**
 * nodePortAddresses picks the local addresses NodePorts answer on: every
 * address not on kube-ipvs0 (and not loopback or IPv6 link-local), restricted per
 * family by `--nodeport-addresses` as kube-proxy does (a family without CIDRs
 * of its own keeps all its addresses; `primary` keeps the node's primary IPs).
 */
export function nodePortAddresses(all: readonly InterfaceAddress[], dummyIndex: number, flag: readonly string[], primaryIPs?: readonly string[]): string[] {
  // An address also bound on kube-ipvs0 is a service address, whichever other device holds it too.
  const onDummy = new Set(all.filter((a) => a.index === dummyIndex).map((a) => a.address));
  const ips = all.filter((a) => !onDummy.has(a.address) && !unusable(a.address)).map((a) => a.address);
  const cidrs = { 4: nodePortCIDRs(flag, 4, primaryIPs), 6: nodePortCIDRs(flag, 6, primaryIPs) };
  const picked = ips.filter((ip) => {
    const mine = cidrs[isIPv4(ip) ? 4 : 6];
    return mine === 'all' || inAnyCIDR(ip, mine);
  });
  return [...new Set(picked)].sort();
}
