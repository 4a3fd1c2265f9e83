import { isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../../util/errors.ts';
import { formatIPv6, ipv6Groups } from '../../util/ipv6.ts';
import { parseCidr, type Ipv4Cidr } from './cidr.ts';

/** Ipv6Cidr is an IPv6 service range; offsets count from the network address. */
export interface Ipv6Cidr {
  readonly base: bigint;
  readonly prefix: number;
  readonly size: number;
}

/** kube-apiserver's limit: an IPv6 service range holds at most 2^20 addresses (a /108). */
const MIN_IPV6_PREFIX = 108;

/** ipv6ToBigInt reads an IPv6 address (any valid spelling, an IPv4 tail too) as a 128-bit number. */
export function ipv6ToBigInt(ip: string): bigint {
  return ipv6Groups(ip).reduce((acc, g) => (acc << 16n) + BigInt(g), 0n);
}

/** bigIntToIpv6 spells an address as RFC 5952 does (lower case, the longest run of zero groups as `::`). */
export function bigIntToIpv6(n: bigint): string {
  return formatIPv6(Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(16 * (7 - i))) & 0xffffn)));
}

/** parseIpv6Cidr parses `fd00:10:96::/112`: a /108 or smaller, of at least 8 addresses. */
export function parseIpv6Cidr(text: string): Ipv6Cidr {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m || !isIPv6(m[1]!) || Number(m[2]) > 128) throw new InvalidArgumentError(`invalid service CIDR "${text}": want an IPv6 CIDR such as fd00:10:96::/112`);
  const prefix = Number(m[2]);
  if (prefix < MIN_IPV6_PREFIX) throw new InvalidArgumentError(`service CIDR "${text}" is too large: an IPv6 range may be at most a /${MIN_IPV6_PREFIX}`);
  const size = 2 ** (128 - prefix);
  if (size < 8) throw new InvalidArgumentError(`service CIDR "${text}" is too small: it must hold at least 8 addresses`);
  const base = ipv6ToBigInt(m[1]!) & ~(BigInt(size) - 1n);
  return { base, prefix, size };
}

/** offsetOf6 is the address's offset in the range, or undefined outside it (the first and last address excluded, as for IPv4). */
export function offsetOf6(cidr: Ipv6Cidr, ip: string): number | undefined {
  if (!isIPv6(ip)) return undefined;
  const offset = ipv6ToBigInt(ip) - cidr.base;
  return offset >= 1n && offset < BigInt(cidr.size - 1) ? Number(offset) : undefined;
}

/** ServiceCIDRs are `--service-cluster-ip-range`'s ranges: IPv4, and for a dual-stack cluster an IPv6 one. */
export interface ServiceCIDRs {
  readonly v4: Ipv4Cidr;
  readonly v6?: Ipv6Cidr;
}

/**
 * parseServiceCIDRs reads `--service-cluster-ip-range` in kube's form, one
 * range or a dual-stack pair (`10.96.0.0/12,fd00:10:96::/112`). The IPv4
 * range comes first here: it is the cluster's primary family.
 */
export function parseServiceCIDRs(text: string): ServiceCIDRs {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > 2) throw new InvalidArgumentError(`invalid service CIDRs "${text}": at most two, one per IP family`);
  const v4 = parseCidr(parts[0]!);
  return parts[1] === undefined ? { v4 } : { v4, v6: parseIpv6Cidr(parts[1]) };
}
