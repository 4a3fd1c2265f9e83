import { networkInterfaces } from 'node:os';

/** localIPv4s lists this node's own IPv4 addresses, loopback excluded. */
export function localIPv4s(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** ipv4InCidr tells whether an IPv4 address lies in an IPv4 CIDR (false for anything else, such as IPv6). */
export function ipv4InCidr(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? 32);
  const a = ipv4ToInt(base ?? '');
  const b = ipv4ToInt(ip);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** addressesIn keeps the addresses that lie in one of the CIDRs (`--nodeport-addresses`). */
export function addressesIn(cidrs: readonly string[], ips: readonly string[]): string[] {
  return ips.filter((ip) => cidrs.some((cidr) => ipv4InCidr(cidr, ip)));
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
