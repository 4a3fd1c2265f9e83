import type { KubeObject } from '../../kube/types.ts';
import { apiErrors, cause } from '../errors.ts';
import type { Reservation } from '../resource.ts';
import { intToIp, offsetOf, type Ipv4Cidr } from './cidr.ts';
import { bigIntToIpv6, offsetOf6, type Ipv6Cidr } from './ipv6-range.ts';
import { RangeAllocator, staticBandSize } from './range.ts';

export type IPFamilyName = 'IPv4' | 'IPv6';

/** IpPool is one family's service range: its allocator and how offsets map to addresses. */
interface IpPool {
  readonly allocator: RangeAllocator;
  offsetOf(ip: string): number | undefined;
  ipAt(offset: number): string;
  readonly range: string;
}

interface Usage {
  /** Offsets held, per family. */
  readonly ips: Readonly<Partial<Record<IPFamilyName, readonly number[]>>>;
  readonly ports: readonly number[];
}

interface PortSpec {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

interface ServiceSpecShape {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ports?: PortSpec[];
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
}

export function serviceKey(svc: KubeObject): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

function specOf(svc: KubeObject): ServiceSpecShape {
  return (svc.spec ?? {}) as ServiceSpecShape;
}

export function needsClusterIP(spec: ServiceSpecShape): boolean {
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
}

export function needsNodePorts(spec: ServiceSpecShape): boolean {
  return spec.type === 'NodePort' || spec.type === 'LoadBalancer';
}

/**
 * ServiceAllocator owns the ClusterIP range and the NodePort range. Each
 * stored Service's addresses and ports are recorded under its key (from the
 * services watch, so every replica and every restart sees the same state);
 * reserve() fills in what a Service being written still needs.
 */
export class ServiceAllocator {
  readonly cidr: Ipv4Cidr;
  readonly portBase: number;
  private readonly pools = new Map<IPFamilyName, IpPool>();
  private readonly ports: RangeAllocator;
  private readonly owners = new Map<string, Usage>();

  /** cidr6: the IPv6 range of a dual-stack cluster (`--service-cluster-ip-range v4,v6`). */
  constructor(cidr: Ipv4Cidr, portRange: { base: number; size: number }, cidr6?: Ipv6Cidr) {
    this.cidr = cidr;
    this.portBase = portRange.base;
    const ips = new RangeAllocator(cidr.size, staticBandSize(cidr.size));
    ips.take(0);
    if (cidr.size === 2 ** (32 - cidr.prefix)) ips.take(cidr.size - 1);
    this.pools.set('IPv4', { allocator: ips, offsetOf: (ip) => offsetOf(cidr, ip), ipAt: (o) => intToIp(cidr.base + o), range: `${intToIp(cidr.base)}/${cidr.prefix}` });
    if (cidr6) {
      const ips6 = new RangeAllocator(cidr6.size, staticBandSize(cidr6.size));
      ips6.take(0);
      ips6.take(cidr6.size - 1);
      this.pools.set('IPv6', { allocator: ips6, offsetOf: (ip) => offsetOf6(cidr6, ip), ipAt: (o) => bigIntToIpv6(cidr6.base + BigInt(o)), range: `${bigIntToIpv6(cidr6.base)}/${cidr6.prefix}` });
    }
    this.ports = new RangeAllocator(portRange.size, staticBandSize(portRange.size));
  }

  /** families lists the IP families this cluster serves, primary first. */
  families(): IPFamilyName[] {
    return [...this.pools.keys()];
  }

  /** firstIP is the range's first usable address, where the `kubernetes` Service lives. */
  firstIP(): string {
    return intToIp(this.cidr.base + 1);
  }

  private usageOf(svc: KubeObject): Usage {
    const spec = specOf(svc);
    const ips: Partial<Record<IPFamilyName, number[]>> = {};
    const ports: number[] = [];
    if (needsClusterIP(spec) && spec.clusterIP) {
      for (const ip of spec.clusterIPs ?? [spec.clusterIP]) {
        for (const [family, pool] of this.pools) {
          const o = pool.offsetOf(ip);
          if (o !== undefined) (ips[family] ??= []).push(o);
        }
      }
    }
    for (const p of spec.ports ?? []) if (typeof p.nodePort === 'number') ports.push(p.nodePort - this.portBase);
    if (typeof spec.healthCheckNodePort === 'number') ports.push(spec.healthCheckNodePort - this.portBase);
    return { ips, ports };
  }

  /** record sets what a stored Service holds (undefined: it was deleted). */
  record(key: string, svc: KubeObject | undefined): void {
    const want = svc ? this.usageOf(svc) : { ips: {}, ports: [] };
    const had = this.owners.get(key) ?? { ips: {}, ports: [] };
    this.releaseUnwanted(had, want);
    for (const [family, pool] of this.pools) for (const o of want.ips[family] ?? []) if (!had.ips[family]?.includes(o)) pool.allocator.take(o);
    for (const o of want.ports) if (!had.ports.includes(o)) this.ports.take(o);
    if (svc) this.owners.set(key, want);
    else this.owners.delete(key);
  }

  /**
   * reserve allocates the ClusterIP and NodePorts svc still lacks and checks
   * the ones it requests (in range, not held by another Service); it writes
   * the results into svc. Errors are 422 Invalid naming the field.
   */
  reserve(svc: KubeObject): Reservation {
    const key = serviceKey(svc);
    const mine = this.owners.get(key) ?? { ips: {}, ports: [] };
    const takenIps: Array<[IpPool, number]> = [];
    const takenPorts: number[] = [];
    const rollback = (): void => {
      for (const [pool, o] of takenIps) pool.allocator.release(o);
      for (const o of takenPorts) this.ports.release(o);
    };
    try {
      this.reserveClusterIP(svc, mine, takenIps);
      this.reserveNodePorts(svc, mine, takenPorts);
    } catch (error) {
      rollback();
      throw error;
    }
    return {
      commit: () => {
        const want = this.usageOf(svc);
        this.releaseUnwanted(mine, want);
        this.owners.set(key, want);
      },
      cancel: rollback,
    };
  }

  /** releaseUnwanted frees what `had` holds and `want` no longer does. */
  private releaseUnwanted(had: Usage, want: Usage): void {
    for (const [family, pool] of this.pools) for (const o of had.ips[family] ?? []) if (!want.ips[family]?.includes(o)) pool.allocator.release(o);
    for (const o of had.ports) if (!want.ports.includes(o)) this.ports.release(o);
  }

  private invalid(svc: KubeObject, field: string, value: unknown, detail: string): Error {
    return apiErrors.invalid('Service', '', svc.metadata?.name ?? '', [cause.invalid(field, value, detail)]);
  }

  /**
   * reserveClusterIP gives the Service one address per family of its
   * (defaulted) ipFamilies, in that order: the requested one, checked, or a
   * free one; a family this cluster does not serve is refused.
   */
  private reserveClusterIP(svc: KubeObject, mine: Usage, taken: Array<[IpPool, number]>): void {
    const spec = specOf(svc);
    if (!needsClusterIP(spec)) return;
    const requested = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
    const ips = (spec.ipFamilies ?? ['IPv4']).map((family, i) => {
      const pool = this.pools.get(family as IPFamilyName);
      if (!pool) throw this.invalid(svc, `spec.ipFamilies[${i}]`, family, 'not configured on this cluster');
      return this.reserveIP(svc, pool, requested[i], mine.ips[family as IPFamilyName] ?? [], taken);
    });
    spec.clusterIP = ips[0];
    spec.clusterIPs = ips;
  }

  private reserveIP(svc: KubeObject, pool: IpPool, ip: string | undefined, mine: readonly number[], taken: Array<[IpPool, number]>): string {
    if (ip) {
      const o = pool.offsetOf(ip);
      if (o === undefined) throw this.invalid(svc, 'spec.clusterIPs', [ip], `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${pool.range}`);
      if (mine.includes(o)) return ip;
      if (!pool.allocator.take(o)) throw this.invalid(svc, 'spec.clusterIPs', [ip], `failed to allocate IP ${ip}: provided IP is already allocated`);
      taken.push([pool, o]);
      return ip;
    }
    const o = pool.allocator.allocate();
    if (o === undefined) throw apiErrors.internal('failed to allocate a serviceIP: range is full');
    taken.push([pool, o]);
    return pool.ipAt(o);
  }

  private takePort(svc: KubeObject, field: string, port: number, mine: Usage, taken: number[]): void {
    const o = port - this.portBase;
    if (mine.ports.includes(o) || taken.includes(o)) {
      if (taken.includes(o)) throw this.invalid(svc, field, port, 'provided port is already allocated');
      return;
    }
    if (o < 0 || o >= this.ports.size) throw this.invalid(svc, field, port, `provided port is not in the valid range. The range of valid ports is ${this.portBase}-${this.portBase + this.ports.size - 1}`);
    if (!this.ports.take(o)) throw this.invalid(svc, field, port, 'provided port is already allocated');
    taken.push(o);
  }

  private allocatePort(): number {
    const o = this.ports.allocate();
    if (o === undefined) throw apiErrors.internal('failed to allocate a nodePort: range is full');
    return o;
  }

  private reserveNodePorts(svc: KubeObject, mine: Usage, taken: number[]): void {
    const spec = specOf(svc);
    if (!needsNodePorts(spec)) return;
    (spec.ports ?? []).forEach((p, i) => {
      if (typeof p.nodePort === 'number' && p.nodePort !== 0) this.takePort(svc, `spec.ports[${i}].nodePort`, p.nodePort, mine, taken);
    });
    for (const p of spec.ports ?? []) {
      if (typeof p.nodePort === 'number' && p.nodePort !== 0) continue;
      const o = this.allocatePort();
      taken.push(o);
      p.nodePort = this.portBase + o;
    }
    if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local') {
      if (typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort !== 0) this.takePort(svc, 'spec.healthCheckNodePort', spec.healthCheckNodePort, mine, taken);
      else {
        const o = this.allocatePort();
        taken.push(o);
        spec.healthCheckNodePort = this.portBase + o;
      }
    }
  }
}
