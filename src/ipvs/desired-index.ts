import type { ProxyState } from '../endpoints/proxy-state.ts';
import { serviceDesired, type DesiredOptions, type NoNodeAccess, type RejectTarget, type ServiceDesired, type SetName, type VirtualServerSpec } from './desired.ts';
import { RefCount } from './refcount.ts';

/**
 * DesiredIndex holds the desired state of every service port and its
 * aggregate (all virtual servers, address and ipset entry reference counts,
 * REJECT targets), updated one service port at a time, so a sync after one
 * endpoint change costs one service's work, not the whole cluster's.
 */
export class DesiredIndex {
  private readonly perService = new Map<string, ServiceDesired>();
  readonly virtualServers = new Map<string, VirtualServerSpec>();
  /** Real servers over all virtual servers, kept as a count so stats cost nothing per sync. */
  realServers = 0;
  readonly addresses = new RefCount<string>();
  /** Keys are `SET entry`. */
  readonly setEntries = new RefCount<string>();
  /** Entries per ipset, so the rules of an empty set can be left out (as kube-proxy does) without scanning. */
  private readonly setSizes = new Map<SetName, number>();
  private readonly rejectsByService = new Map<string, readonly RejectTarget[]>();
  private readonly noNodeAccessByService = new Map<string, readonly NoNodeAccess[]>();

  /**
   * update recomputes one service port from the snapshot (removing it when
   * the snapshot no longer has it) and adds the virtual server keys whose
   * desired state may have changed to `touched`.
   */
  update(key: string, state: ProxyState, opts: DesiredOptions, touched: Set<string>): void {
    const old = this.perService.get(key);
    if (old) this.remove(key, old, touched);
    const svc = state.services.get(key);
    if (!svc) return;
    const next = serviceDesired(svc, state.endpoints.get(key) ?? [], opts);
    this.perService.set(key, next);
    for (const [vs, spec] of next.virtualServers) {
      this.realServers += spec.dests.size - (this.virtualServers.get(vs)?.dests.size ?? 0);
      this.virtualServers.set(vs, spec);
      touched.add(vs);
    }
    for (const a of next.addresses) this.addresses.add(a);
    for (const [set, e] of next.setEntries) this.addEntry(set, e);
    if (next.rejects.length > 0) this.rejectsByService.set(key, next.rejects);
    if (next.noNodeAccess.length > 0) this.noNodeAccessByService.set(key, next.noNodeAccess);
  }

  private addEntry(set: SetName, entry: string): void {
    if (this.setEntries.add(`${set} ${entry}`)) this.setSizes.set(set, this.setSize(set) + 1);
  }

  private removeEntry(set: SetName, entry: string): void {
    if (this.setEntries.remove(`${set} ${entry}`)) this.setSizes.set(set, this.setSize(set) - 1);
  }

  private remove(key: string, old: ServiceDesired, touched: Set<string>): void {
    this.perService.delete(key);
    for (const vs of old.virtualServers.keys()) {
      this.realServers -= this.virtualServers.get(vs)?.dests.size ?? 0;
      this.virtualServers.delete(vs);
      touched.add(vs);
    }
    for (const a of old.addresses) this.addresses.remove(a);
    for (const [set, e] of old.setEntries) this.removeEntry(set, e);
    this.rejectsByService.delete(key);
    this.noNodeAccessByService.delete(key);
  }

  serviceKeys(): IterableIterator<string> {
    return this.perService.keys();
  }

  rejects(): RejectTarget[] {
    return [...this.rejectsByService.values()].flat();
  }

  /** noNodeAccess lists the load balancer IP:ports the node itself must not reach. */
  noNodeAccess(): NoNodeAccess[] {
    return [...this.noNodeAccessByService.values()].flat();
  }

  /** setSize is the number of entries one ipset holds. */
  setSize(set: SetName): number {
    return this.setSizes.get(set) ?? 0;
  }

  /** entriesBySet lists every ipset's current entries, in one pass over them (a full sync rebuilds every set). */
  entriesBySet(): Map<SetName, string[]> {
    const out = new Map<SetName, string[]>();
    for (const k of this.setEntries.keys()) {
      const [set, entry] = splitSetKey(k);
      let entries = out.get(set);
      if (!entries) out.set(set, (entries = []));
      entries.push(entry);
    }
    return out;
  }
}

/** splitSetKey turns a `SET entry` key back into its parts. */
export function splitSetKey(k: string): readonly [SetName, string] {
  const i = k.indexOf(' ');
  return [k.slice(0, i) as SetName, k.slice(i + 1)];
}
