import type { KubeObject } from '../../kube/types.ts';
import { apiErrors, cause } from '../errors.ts';
import type { Reservation } from '../resource.ts';
import { intToIp, offsetOf, type Ipv4Cidr } from './cidr.ts';
import { RangeAllocator, staticBandSize } from './range.ts';

interface Usage {
  readonly ips: readonly number[];
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
  private readonly ips: RangeAllocator;
  private readonly ports: RangeAllocator;
  private readonly owners = new Map<string, Usage>();

  constructor(cidr: Ipv4Cidr, portRange: { base: number; size: number }) {
    this.cidr = cidr;
    this.portBase = portRange.base;
    this.ips = new RangeAllocator(cidr.size, staticBandSize(cidr.size));
    this.ips.take(0);
    if (cidr.size === 2 ** (32 - cidr.prefix)) this.ips.take(cidr.size - 1);
    this.ports = new RangeAllocator(portRange.size, staticBandSize(portRange.size));
  }

  /** firstIP is the range's first usable address, where the `kubernetes` Service lives. */
  firstIP(): string {
    return intToIp(this.cidr.base + 1);
  }

  private usageOf(svc: KubeObject): Usage {
    const spec = specOf(svc);
    const ips: number[] = [];
    const ports: number[] = [];
    if (needsClusterIP(spec) && spec.clusterIP) {
      const o = offsetOf(this.cidr, spec.clusterIP);
      if (o !== undefined) ips.push(o);
    }
    for (const p of spec.ports ?? []) if (typeof p.nodePort === 'number') ports.push(p.nodePort - this.portBase);
    if (typeof spec.healthCheckNodePort === 'number') ports.push(spec.healthCheckNodePort - this.portBase);
    return { ips, ports };
  }

  /** record sets what a stored Service holds (undefined: it was deleted). */
  record(key: string, svc: KubeObject | undefined): void {
    const want = svc ? this.usageOf(svc) : { ips: [], ports: [] };
    const had = this.owners.get(key) ?? { ips: [], ports: [] };
    for (const o of had.ips) if (!want.ips.includes(o)) this.ips.release(o);
    for (const o of had.ports) if (!want.ports.includes(o)) this.ports.release(o);
    for (const o of want.ips) if (!had.ips.includes(o)) this.ips.take(o);
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
    const mine = this.owners.get(key) ?? { ips: [], ports: [] };
    const takenIps: number[] = [];
    const takenPorts: number[] = [];
    const rollback = (): void => {
      for (const o of takenIps) this.ips.release(o);
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
        for (const o of mine.ips) if (!want.ips.includes(o)) this.ips.release(o);
        for (const o of mine.ports) if (!want.ports.includes(o)) this.ports.release(o);
        this.owners.set(key, want);
      },
      cancel: rollback,
    };
  }

  private invalid(svc: KubeObject, field: string, value: unknown, detail: string): Error {
    return apiErrors.invalid('Service', '', svc.metadata?.name ?? '', [cause.invalid(field, value, detail)]);
  }

  private reserveClusterIP(svc: KubeObject, mine: Usage, taken: number[]): void {
    const spec = specOf(svc);
    if (!needsClusterIP(spec)) return;
    if (spec.clusterIP) {
      const o = offsetOf(this.cidr, spec.clusterIP);
      if (o === undefined) throw this.invalid(svc, 'spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${intToIp(this.cidr.base)}/${this.cidr.prefix}`);
      if (mine.ips.includes(o)) return;
      if (!this.ips.take(o)) throw this.invalid(svc, 'spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`);
      taken.push(o);
      return;
    }
    const o = this.ips.allocate();
    if (o === undefined) throw apiErrors.internal('failed to allocate a serviceIP: range is full');
    taken.push(o);
    spec.clusterIP = intToIp(this.cidr.base + o);
    spec.clusterIPs = [spec.clusterIP];
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
