import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../util/errors.ts';

/** Ipv4Cidr is an IPv4 service range; offsets count from the network address. */
export interface Ipv4Cidr {
  readonly base: number;
  readonly prefix: number;
  /**
   * Number of addresses: the whole range, as kube-apiserver serves IPv4 (its
   * 65,536 cap is for IPv6). The allocator keeps a set of used offsets, so a
   * /12's million addresses cost nothing until used.
   */
  readonly size: number;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** parseCidr parses `10.96.0.0/12`; the range must hold at least 8 addresses. */
export function parseCidr(text: string): Ipv4Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new InvalidArgumentError(`invalid service CIDR "${text}": want an IPv4 CIDR such as 10.96.0.0/12`);
  const prefix = Number(m[2]);
  const total = 2 ** (32 - prefix);
  if (total < 8) throw new InvalidArgumentError(`service CIDR "${text}" is too small: it must hold at least 8 addresses`);
  const base = ipToInt(m[1]!) - (ipToInt(m[1]!) % total);
  return { base, prefix, size: total };
}

/** offsetOf is the address's offset in the range, or undefined outside it (network and broadcast excluded). */
export function offsetOf(cidr: Ipv4Cidr, ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  const offset = ipToInt(ip) - cidr.base;
  const lastUsable = Math.min(cidr.size, 2 ** (32 - cidr.prefix) - 1) - 1;
  return offset >= 1 && offset <= lastUsable ? offset : undefined;
}

/** parsePortRange parses `30000-32767` (or a single port). */
export function parsePortRange(text: string): { base: number; size: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2] ?? m?.[1]);
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new InvalidArgumentError(`invalid node port range "${text}": want e.g. 30000-32767`);
  return { base: lo, size: hi - lo + 1 };
}
