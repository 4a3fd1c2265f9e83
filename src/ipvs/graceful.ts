import type { DestinationStatus } from '../netlink/ipvs.ts';
import { destKey } from './desired.ts';

/**
 * GracefulTermination tracks real servers that are no longer desired and sit
 * at weight 0 (new connections avoid them, established ones continue), and
 * decides when each can be deleted: once it has no active or inactive
 * connections, or once the timeout has passed (kube-proxy's graceful
 * termination manager does the same with its own loop).
 */
export class GracefulTermination {
  /** vsKey → destKey → since (ms). */
  private readonly byVs = new Map<string, Map<string, number>>();
  private readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  start(vs: string, dest: string, now: number): void {
    let m = this.byVs.get(vs);
    if (!m) this.byVs.set(vs, (m = new Map()));
    if (!m.has(dest)) m.set(dest, now);
  }

  /** stop forgets a real server (it is desired again, or was deleted). */
  stop(vs: string, dest: string): void {
    const m = this.byVs.get(vs);
    if (!m) return;
    m.delete(dest);
    if (m.size === 0) this.byVs.delete(vs);
  }

  forgetVirtualServer(vs: string): void {
    this.byVs.delete(vs);
  }

  virtualServers(): string[] {
    return [...this.byVs.keys()];
  }

  get size(): number {
    let n = 0;
    for (const m of this.byVs.values()) n += m.size;
    return n;
  }

  /**
   * due returns the terminating real servers of one virtual server that can
   * be deleted now, given the kernel's current view of its real servers;
   * servers the kernel no longer has are forgotten.
   */
  due(vs: string, kernel: readonly DestinationStatus[], now: number): DestinationStatus[] {
    const m = this.byVs.get(vs);
    if (!m) return [];
    const byKey = new Map(kernel.map((d) => [destKey(d.address, d.port), d]));
    const out: DestinationStatus[] = [];
    for (const [key, since] of m) {
      const d = byKey.get(key);
      if (!d) {
        this.stop(vs, key);
        continue;
      }
      if (d.weight !== 0) continue; // desired again; the next sync settles it
      if (d.activeConns + d.inactiveConns === 0 || now - since >= this.timeoutMs) out.push(d);
    }
    return out;
  }
}
