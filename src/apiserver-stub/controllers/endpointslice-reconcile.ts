import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { podConditions, podHostname, portsKey, resolvePorts, servicePods, shouldPodBeInEndpoints } from './pod-endpoint.ts';

/**
 * The EndpointSlice controller's reconciler as a pure function, modelled on
 * kube-controller-manager's `reconciler.reconcileByAddressType`: from a
 * Service, the pods it selects, the nodes' zones and the slices that already
 * exist, it plans which slices to create, update and delete, so that
 *
 * - every slice holds at most `maxEndpointsPerSlice` endpoints of one port set;
 * - an endpoint that did not change stays in the slice it is in, so changing
 *   one pod rewrites one slice (minimal churn);
 * - new endpoints first fill slices that are being rewritten anyway, then one
 *   unchanged slice that can take them all, and only then new slices;
 * - a Service with no endpoints keeps one empty placeholder slice.
 */

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface SliceInputs {
  service: Service;
  /** Pods of the service's namespace (the reconciler applies the selector). */
  pods: readonly Pod[];
  /** Node name → `topology.kubernetes.io/zone` label, for the endpoint's zone. */
  nodeZones: ReadonlyMap<string, string>;
  /** The slices this controller already manages for the service. */
  existing: readonly EndpointSlice[];
  maxEndpointsPerSlice: number;
}

/** SlicePlan is what to write; slices in `create` carry generateName, not name. */
export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

interface DesiredSet {
  ports: EndpointPort[];
  /** address → endpoint, in pod order. */
  endpoints: Map<string, Endpoint>;
}

/** sliceLabels are the labels every managed slice of the service carries. */
export function sliceLabels(service: Service): Record<string, string> {
  const labels: Record<string, string> = { ...service.metadata?.labels };
  labels[LABEL_SERVICE_NAME] = service.metadata?.name ?? '';
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  if (service.spec?.clusterIP === 'None') labels[LABEL_HEADLESS] = '';
  else delete labels[LABEL_HEADLESS];
  return labels;
}

function podEndpoint(pod: Pod, service: Service, nodeZones: ReadonlyMap<string, string>): Endpoint {
  const ep: Endpoint = { addresses: [pod.status!.podIP!], conditions: podConditions(pod, service.spec?.publishNotReadyAddresses === true) };
  const hostname = podHostname(pod, service);
  if (hostname) ep.hostname = hostname;
  const nodeName = pod.spec?.nodeName;
  if (nodeName) {
    ep.nodeName = nodeName;
    const zone = nodeZones.get(nodeName);
    if (zone) ep.zone = zone;
  }
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  return ep;
}

/** desiredSets groups the service's endpoints by the port set they resolve to. */
function desiredSets(inputs: SliceInputs): Map<string, DesiredSet> {
  const sets = new Map<string, DesiredSet>();
  for (const pod of servicePods(inputs.service, inputs.pods)) {
    if (!shouldPodBeInEndpoints(pod, true) || pod.status!.podIP!.includes(':')) continue;
    const resolved = resolvePorts(inputs.service, pod);
    const key = portsKey(resolved);
    let set = sets.get(key);
    if (!set) {
      set = { ports: resolved.map(({ name, port, protocol, appProtocol }) => ({ name, port, protocol, ...(appProtocol ? { appProtocol } : {}) })), endpoints: new Map() };
      sets.set(key, set);
    }
    const ep = podEndpoint(pod, inputs.service, inputs.nodeZones);
    set.endpoints.set(ep.addresses[0]!, ep);
  }
  return sets;
}

function slicePortsKey(slice: EndpointSlice): string {
  return portsKey((slice.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol })));
}

/** endpointsEqual compares what the controller writes, whatever the key order the server returned. */
export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  const c = (e: Endpoint) => [
    e.addresses.join(','),
    e.conditions?.ready ?? true,
    e.conditions?.serving ?? true,
    e.conditions?.terminating ?? false,
    e.hostname ?? '',
    e.nodeName ?? '',
    e.zone ?? '',
    e.targetRef?.kind ?? '',
    e.targetRef?.namespace ?? '',
    e.targetRef?.name ?? '',
    e.targetRef?.uid ?? '',
  ].join('|');
  return c(a) === c(b);
}

function labelsEqual(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a![k] === b[k]);
}

function newSlice(service: Service, ports: EndpointPort[], endpoints: Endpoint[]): EndpointSlice {
  const name = service.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${name}-`,
      namespace: service.metadata?.namespace,
      labels: sliceLabels(service),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: service.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    ports,
    endpoints,
  };
}

interface Working {
  slice: EndpointSlice;
  changed: boolean;
}

/** keepExisting walks existing slices: keeps unchanged endpoints in place, refreshes changed ones, drops stale ones. */
function keepExisting(inputs: SliceInputs, sets: Map<string, DesiredSet>, plan: SlicePlan): Map<string, Working[]> {
  const labels = sliceLabels(inputs.service);
  const placed = new Set<string>();
  const kept = new Map<string, Working[]>();
  for (const existing of inputs.existing) {
    const key = slicePortsKey(existing);
    const set = sets.get(key);
    if (!set) {
      plan.delete.push(existing);
      continue;
    }
    let changed = !labelsEqual(existing.metadata?.labels, labels);
    const endpoints: Endpoint[] = [];
    for (const ep of existing.endpoints ?? []) {
      const addr = ep.addresses[0] ?? '';
      const want = set.endpoints.get(addr);
      if (!want || placed.has(addr)) {
        changed = true;
        continue;
      }
      placed.add(addr);
      if (endpointsEqual(ep, want)) endpoints.push(ep);
      else {
        endpoints.push(want);
        changed = true;
      }
    }
    if (endpoints.length === 0) {
      plan.delete.push(existing);
      continue;
    }
    const slice: EndpointSlice = { ...existing, metadata: { ...existing.metadata, labels: { ...labels } }, endpoints };
    if (!changed) slice.metadata = existing.metadata;
    const list = kept.get(key) ?? [];
    list.push({ slice, changed });
    kept.set(key, list);
  }
  for (const set of sets.values()) for (const addr of placed) set.endpoints.delete(addr);
  return kept;
}

/** placeNew puts the endpoints not yet in any slice: changed slices first, then one unchanged slice that fits all, then new slices. */
function placeNew(inputs: SliceInputs, set: DesiredSet, working: Working[], plan: SlicePlan): void {
  const max = inputs.maxEndpointsPerSlice;
  const pending = [...set.endpoints.values()];
  for (const w of working) {
    if (!w.changed) continue;
    while (pending.length > 0 && w.slice.endpoints.length < max) w.slice.endpoints.push(pending.shift()!);
  }
  if (pending.length > 0) {
    // Of the unchanged slices that can take every pending endpoint, fill the fullest one (kube's getSliceToFill).
    const candidates = working.filter((w) => !w.changed && max - w.slice.endpoints.length >= pending.length);
    candidates.sort((a, b) => b.slice.endpoints.length - a.slice.endpoints.length);
    const fill = candidates[0];
    if (fill) {
      fill.slice.endpoints.push(...pending.splice(0));
      fill.changed = true;
    }
  }
  while (pending.length > 0) plan.create.push(newSlice(inputs.service, set.ports, pending.splice(0, max)));
}

/** planSlices computes the minimal set of slice writes for one Service. */
export function planSlices(inputs: SliceInputs): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const sets = desiredSets(inputs);
  const kept = keepExisting(inputs, sets, plan);
  for (const [key, set] of sets) {
    const working = kept.get(key) ?? [];
    placeNew(inputs, set, working, plan);
    for (const w of working) if (w.changed) plan.update.push(w.slice);
  }
  ensurePlaceholder(inputs, sets, plan);
  return plan;
}

/**
 * ensurePlaceholder keeps one empty slice for a Service without endpoints
 * (kube does the same so that consumers can tell "no endpoints" from "not yet
 * processed"): an existing empty placeholder is reused instead of deleted.
 */
function ensurePlaceholder(inputs: SliceInputs, sets: Map<string, DesiredSet>, plan: SlicePlan): void {
  if (sets.size > 0) return;
  const placeholder = plan.delete.find((s) => (s.ports ?? []).length === 0 && (s.endpoints ?? []).length === 0);
  if (placeholder) {
    plan.delete = plan.delete.filter((s) => s !== placeholder);
    if (!labelsEqual(placeholder.metadata?.labels, sliceLabels(inputs.service))) {
      plan.update.push({ ...placeholder, metadata: { ...placeholder.metadata, labels: sliceLabels(inputs.service) } });
    }
    return;
  }
  plan.create.push(newSlice(inputs.service, [], []));
}
