import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { serviceOfPortKey, type ProxyState } from './proxy-state.ts';
import { ServiceChangeTracker, ServicePortMap } from './service-change-tracker.ts';
import { EndpointsChangeTracker, EndpointsMap } from './endpoints-change-tracker.ts';
import type { IPFamily } from './node-port-addresses.ts';

/**
 * ProxyStateBuilder turns informer events into immutable ProxyState
 * snapshots. Events go into the change trackers; `build()` applies them and
 * returns a snapshot whose `changed`, `udpConntrack` and `triggerTimes` cover
 * everything since the last *successful* sync: they are cleared only by
 * `syncSucceeded()`, so a failed sync loses nothing.
 */
export class ProxyStateBuilder {
  readonly #nodeName: string;
  readonly #family: IPFamily;
  readonly #serviceChanges: ServiceChangeTracker;
  readonly #endpointChanges: EndpointsChangeTracker;
  readonly #services = new ServicePortMap();
  readonly #endpoints = new EndpointsMap();
  #nodeLabels: Readonly<Record<string, string>> = Object.freeze({});
  #nodeIPs: readonly string[] = Object.freeze([]);
  #nodeChanged = false;
  // Accumulated since the last successful sync:
  #changed = new Set<string>();
  #deletedUDPEndpoints: Array<{ serviceKey: string; endpoint: string }> = [];
  #newlyActiveUDP = new Set<string>();
  #deletedUDPClusterIPs = new Set<string>();
  /** Service name → earliest trigger time (ms), for the latency metric. */
  #triggerTimes = new Map<string, number>();
  /** Trigger times of the last built snapshot, reported by syncSucceeded. */
  #builtTriggerTimes = new Map<string, number>();

  /** family: the IP family of the snapshots (one builder per proxier, as kube-proxy's per-family trackers). */
  constructor(nodeName: string, family: IPFamily = 4) {
    this.#nodeName = nodeName;
    this.#family = family;
    this.#serviceChanges = new ServiceChangeTracker(family);
    this.#endpointChanges = new EndpointsChangeTracker(nodeName, family);
  }

  get ipFamily(): IPFamily {
    return this.#family;
  }

  /** onServiceChange feeds a Service add (prev undefined), update or delete (cur undefined); returns whether changes are pending. */
  onServiceChange(previous: Service | undefined, current: Service | undefined): boolean {
    return this.#serviceChanges.update(previous, current);
  }

  /** onEndpointSliceChange feeds a slice add/update or delete; returns whether it changed anything. */
  onEndpointSliceChange(slice: EndpointSlice, removed: boolean): boolean {
    return this.#endpointChanges.update(slice, removed);
  }

  /** setNodeLabels records this node's labels; a change makes the next snapshot mark every service changed. */
  setNodeLabels(labels: Record<string, string> | undefined): boolean {
    const next = Object.freeze({ ...labels });
    if (JSON.stringify(next) === JSON.stringify(this.#nodeLabels)) return false;
    this.#nodeLabels = next;
    this.#nodeChanged = true;
    return true;
  }

  /** setNodeIPs records this node's primary IPs (nodeHostIPs); returns whether they changed (a sync is then due). */
  setNodeIPs(ips: readonly string[]): boolean {
    if (ips.join(',') === this.#nodeIPs.join(',')) return false;
    this.#nodeIPs = Object.freeze([...ips]);
    return true;
  }

  /** pendingCounts: services with unapplied service or endpoint changes (for the *_changes_pending gauges). */
  pendingCounts(): { services: number; endpoints: number } {
    return { services: this.#serviceChanges.pendingCount(), endpoints: this.#endpointChanges.pendingCount() };
  }

  /** build applies pending changes and returns a snapshot; call it only from the sync runner. */
  build(): ProxyState {
    const svc = this.#services.apply(this.#serviceChanges);
    const eps = this.#endpoints.apply(this.#endpointChanges);
    for (const key of svc.changedPorts) this.#changed.add(key);
    for (const key of eps.changedPorts) this.#changed.add(key);
    if (this.#nodeChanged) for (const key of this.#services.ports.keys()) this.#changed.add(key);
    this.#nodeChanged = false;
    this.#deletedUDPEndpoints.push(...eps.deletedUDPEndpoints);
    for (const key of eps.newlyActiveUDPServices) this.#newlyActiveUDP.add(key);
    for (const ip of svc.deletedUDPClusterIPs) this.#deletedUDPClusterIPs.add(ip);
    // An IP given to a UDP port again before the sync is live: its entries must stay.
    if (this.#deletedUDPClusterIPs.size > 0) {
      for (const port of this.#services.ports.snapshot().values()) if (port.protocol === 'UDP') for (const ip of port.clusterIPs) this.#deletedUDPClusterIPs.delete(ip);
    }
    for (const [name, t] of eps.lastChangeTriggerTimes) this.#triggerTimes.set(name, Math.min(t, this.#triggerTimes.get(name) ?? Infinity));
    this.#builtTriggerTimes = new Map(this.#triggerTimes);

    const triggerTimes = new Map<string, number>();
    for (const key of this.#changed) {
      const t = this.#triggerTimes.get(serviceOfPortKey(key));
      if (t !== undefined) triggerTimes.set(key, t);
    }
    return Object.freeze({
      ipFamily: this.#family,
      nodeName: this.#nodeName,
      nodeLabels: this.#nodeLabels,
      nodeIPs: this.#nodeIPs,
      services: this.#services.ports.snapshot(),
      endpoints: this.#endpoints.endpoints.snapshot(),
      changed: new Set(this.#changed),
      udpConntrack: Object.freeze({
        deletedEndpoints: Object.freeze([...this.#deletedUDPEndpoints]),
        newlyActiveServices: new Set(this.#newlyActiveUDP),
        deletedClusterIPs: new Set(this.#deletedUDPClusterIPs),
      }),
      triggerTimes,
    });
  }

  /**
   * syncSucceeded forgets what the last built snapshot carried (changes,
   * UDP conntrack work, trigger times) and returns that snapshot's trigger
   * times (ms), one per service, for the network programming latency metric.
   */
  syncSucceeded(): number[] {
    const times = [...this.#builtTriggerTimes.values()];
    this.#changed = new Set();
    this.#deletedUDPEndpoints = [];
    this.#newlyActiveUDP = new Set();
    this.#deletedUDPClusterIPs = new Set();
    for (const [name, t] of this.#builtTriggerTimes) if (this.#triggerTimes.get(name) === t) this.#triggerTimes.delete(name);
    this.#builtTriggerTimes = new Map();
    return times;
  }
}
