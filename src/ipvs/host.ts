import { writeFile } from 'node:fs/promises';
import { ipToBytes } from '../netlink/addr.ts';
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

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const a = ipToBytes(ip);
  const b = ipToBytes(base!);
  if (a.length !== b.length) return false;
  let bits = Number(bitsText ?? a.length * 8);
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

const unusable = (ip: string): boolean => ip.startsWith('127.') || ip === '::1' || ip.startsWith('169.254.') || ip.toLowerCase().startsWith('fe80:');

/**
 * nodePortAddresses picks the local addresses NodePorts answer on: every
 * address not on kube-ipvs0 (and not loopback or link-local), restricted to
 * `--nodeport-addresses` when given.
 */
export function nodePortAddresses(all: readonly InterfaceAddress[], dummyIndex: number, cidrs: readonly string[]): string[] {
  const ips = all.filter((a) => a.index !== dummyIndex && !unusable(a.address)).map((a) => a.address);
  const picked = cidrs.length === 0 ? ips : ips.filter((ip) => cidrs.some((c) => inCidr(ip, c)));
  return [...new Set(picked)].sort();
}
