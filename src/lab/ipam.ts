import { InvalidArgumentError } from '../util/errors.ts';

/**
 * Pod address management for one node (host-local IPAM in CNI terms): the
 * node's podCIDR, its first address for the node's bridge (the pods' default
 * gateway) and the rest handed to pods round-robin from the last one handed
 * out, as host-local does: an address just released is not given to the
 * next pod, whose peers may still hold the old pod's MAC for it.
 */

export interface Cidr {
  /** Network address as a 32-bit unsigned integer. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new InvalidArgumentError(`invalid IPv4 address ${JSON.stringify(ip)}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || prefix > 30 || prefix < 8) throw new InvalidArgumentError(`invalid pod CIDR ${JSON.stringify(cidr)}: want an IPv4 network between /8 and /30`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(m[1]!) & mask) >>> 0, prefix };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const mask = (0xffffffff << (32 - c.prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === c.base;
}

/** PodIpam hands out addresses of one podCIDR; the gateway (first host) is reserved. */
export class PodIpam {
  readonly cidr: Cidr;
  readonly gateway: string;
  private readonly used = new Set<number>();
  private readonly first: number;
  private readonly last: number;
  private lastAllocated: number;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
    this.first = this.cidr.base + 2;
    this.last = this.cidr.base + 2 ** (32 - this.cidr.prefix) - 2;
    this.gateway = intToIp(this.cidr.base + 1);
    this.lastAllocated = this.last;
  }

  get prefix(): number {
    return this.cidr.prefix;
  }

  /** allocate returns the next free address after the last one handed out (wrapping); throws when the range is exhausted. */
  allocate(): string {
    const size = this.last - this.first + 1;
    for (let i = 1; i <= size; i++) {
      const n = this.first + ((this.lastAllocated - this.first + i) % size);
      if (!this.used.has(n)) {
        this.used.add(n);
        this.lastAllocated = n;
        return intToIp(n);
      }
    }
    throw new InvalidArgumentError(`pod CIDR ${intToIp(this.cidr.base)}/${this.cidr.prefix} is exhausted`);
  }

  /** reserve marks an address in use (found on a pod that survived an agent restart); false if outside the range. */
  reserve(ip: string): boolean {
    const n = ipToInt(ip);
    if (n < this.first || n > this.last) return false;
    this.used.add(n);
    return true;
  }

  release(ip: string): void {
    this.used.delete(ipToInt(ip));
  }
}
