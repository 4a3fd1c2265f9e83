import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Endpoint } from './proxy-state.ts';
import { mergeSlices, sliceInfo, sliceServiceName } from './endpoint-slice-cache.ts';
import type { EndpointsOfService, SliceInfo } from './endpoint-slice-cache.ts';
import type { IPFamily } from './node-port-addresses.ts';
import { SnapshotMap } from './snapshot-map.ts';

/** LAST_CHANGE_TRIGGER_TIME is set by the endpoint controllers; it starts the network programming latency clock. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

interface ServiceSlices {
  /** Slices as of the last checkout, by slice name. */
  applied: Map<string, SliceInfo>;
  /** Slices changed since; undefined means deleted. */
  pending: Map<string, SliceInfo | undefined>;
}

/**
 * EndpointsChangeTracker is kube-proxy's EndpointsChangeTracker with its
 * EndpointSliceCache: it keeps every service's slices, collects slice
 * changes until the next sync, and on checkout gives each changed service's
 * merged endpoints before and after. It also records the trigger times of the
 * changes for the network programming latency metric.
 */
export class EndpointsChangeTracker {
  readonly #nodeName: string;
  readonly #family: IPFamily;
  readonly #services = new Map<string, ServiceSlices>();
  /** Names of services whose `pending` is not empty. */
  readonly #pending = new Set<string>();
  /** Service name → earliest trigger time (ms) among changes not yet checked out. */
  readonly #triggerTimes = new Map<string, number>();

  /** family: the IP family whose EndpointSlices (addressType IPv4 or IPv6) this tracker keeps. */
  constructor(nodeName: string, family: IPFamily = 4) {
    this.#nodeName = nodeName;
    this.#family = family;
  }

  /** update records a slice add/update (removed false) or delete (removed true); returns whether it changed anything. */
  update(slice: EndpointSlice, removed: boolean): boolean {
    const name = sliceServiceName(slice);
    const sliceName = slice.metadata?.name ?? '';
    if (!name) return false;
    const info = removed ? undefined : sliceInfo(slice, this.#family);
    let svc = this.#services.get(name);
    if (!svc) this.#services.set(name, (svc = { applied: new Map(), pending: new Map() }));
    const known = svc.pending.has(sliceName) ? svc.pending.get(sliceName) : svc.applied.get(sliceName);
    if (JSON.stringify(known) === JSON.stringify(info)) return false;
    svc.pending.set(sliceName, info);
    this.#pending.add(name);
    const trigger = Date.parse(slice.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? '');
    if (!removed && Number.isFinite(trigger)) this.#triggerTimes.set(name, Math.min(trigger, this.#triggerTimes.get(name) ?? Infinity));
    return true;
  }

  /** pendingCount is how many services have slice changes not yet checked out. */
  pendingCount(): number {
    return this.#pending.size;
  }

  /** checkout applies pending slices and returns each changed service's endpoints before and after, plus trigger times. */
  checkout(): { changes: Map<string, { previous: EndpointsOfService; current: EndpointsOfService }>; triggerTimes: Map<string, number> } {
    const changes = new Map<string, { previous: EndpointsOfService; current: EndpointsOfService }>();
    for (const name of this.#pending) {
      const svc = this.#services.get(name)!;
      const [namespace, service] = splitName(name);
      const previous = mergeSlices(namespace, service, svc.applied.values(), this.#nodeName);
      for (const [sliceName, info] of svc.pending) {
        if (info) svc.applied.set(sliceName, info);
        else svc.applied.delete(sliceName);
      }
      svc.pending.clear();
      if (svc.applied.size === 0) this.#services.delete(name);
      changes.set(name, { previous, current: mergeSlices(namespace, service, svc.applied.values(), this.#nodeName) });
    }
    this.#pending.clear();
    const triggerTimes = new Map(this.#triggerTimes);
    this.#triggerTimes.clear();
    return { changes, triggerTimes };
  }
}

function splitName(name: string): [string, string] {
  const slash = name.indexOf('/');
  return [name.slice(0, slash), name.slice(slash + 1)];
}

/** EndpointsUpdateResult says what applying endpoint changes did; the UDP fields drive conntrack cleanup. */
export interface EndpointsUpdateResult {
  /** Service port keys whose endpoints changed. */
  readonly changedPorts: Set<string>;
  /** UDP endpoints (ip:port) that were usable and no longer are, per service port key. */
  readonly deletedUDPEndpoints: Array<{ serviceKey: string; endpoint: string }>;
  /** UDP service port keys that went from no usable endpoint to some. */
  readonly newlyActiveUDPServices: Set<string>;
  /** Service name → earliest last-change-trigger-time (ms) of the applied changes. */
  readonly lastChangeTriggerTimes: Map<string, number>;
}

const usable = (ep: Endpoint): boolean => ep.ready || (ep.serving && ep.terminating);

const sameEndpoints = (a: readonly Endpoint[], b: readonly Endpoint[]): boolean =>
  a.length === b.length && a.every((ep, i) => JSON.stringify(ep) === JSON.stringify(b[i]));

/** EndpointsMap is the applied state: every service port key's merged endpoints. */
export class EndpointsMap {
  readonly endpoints = new SnapshotMap<readonly Endpoint[]>();

  apply(tracker: EndpointsChangeTracker): EndpointsUpdateResult {
    const { changes, triggerTimes } = tracker.checkout();
    const result: EndpointsUpdateResult = { changedPorts: new Set(), deletedUDPEndpoints: [], newlyActiveUDPServices: new Set(), lastChangeTriggerTimes: new Map() };
    for (const [name, { previous, current }] of changes) {
      let changed = false;
      for (const key of new Set([...previous.keys(), ...current.keys()])) {
        const before = previous.get(key);
        const after = current.get(key);
        if (before && after && before.protocol === after.protocol && sameEndpoints(before.endpoints, after.endpoints)) continue;
        changed = true;
        result.changedPorts.add(key);
        if (after) this.endpoints.set(key, after.endpoints);
        else this.endpoints.delete(key);
        if ((before?.protocol ?? after?.protocol) === 'UDP') detectStaleUDP(key, before?.endpoints ?? [], after?.endpoints ?? [], result);
      }
      const trigger = triggerTimes.get(name);
      if (changed && trigger !== undefined) result.lastChangeTriggerTimes.set(name, trigger);
    }
    return result;
  }
}

function detectStaleUDP(key: string, before: readonly Endpoint[], after: readonly Endpoint[], result: EndpointsUpdateResult): void {
  const stillUsable = new Set(after.filter(usable).map((ep) => `${ep.ip}:${ep.port}`));
  for (const ep of before) {
    const id = `${ep.ip}:${ep.port}`;
    if (usable(ep) && !stillUsable.has(id)) result.deletedUDPEndpoints.push({ serviceKey: key, endpoint: id });
  }
  if (!before.some(usable) && stillUsable.size > 0) result.newlyActiveUDPServices.add(key);
}
