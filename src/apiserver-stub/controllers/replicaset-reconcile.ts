import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isPodReady } from './pod-endpoint.ts';

/**
 * The ReplicaSet controller's reconcile math as pure functions
 * (kube-controller-manager `replica_set.go` `manageReplicas`,
 * `controller_utils.go` `ActivePodsWithRanks`): how many pods to create,
 * which pods to delete when scaling down, and the status to report.
 */

/** BURST_REPLICAS caps the pods created or deleted in one sync, as kube's burstReplicas. */
export const BURST_REPLICAS = 500;

export interface ReplicaSetPlan {
  create: number;
  /** Pods to delete, most deletable first. */
  delete: Pod[];
  status: ReplicaSetStatus;
}

/** isPodActive: not terminal and not being deleted (kube's FilterActivePods). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** readySince returns when the pod became Ready (ms), or undefined when not ready. */
function readySince(pod: Pod): number | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  if (!c) return undefined;
  return c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : 0;
}

/** isPodAvailable: ready for at least minReadySeconds at `now`. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const since = readySince(pod);
  if (since === undefined) return false;
  return minReadySeconds === 0 || since + minReadySeconds * 1000 <= now;
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => Math.max(n, c.restartCount), 0);
}

const created = (pod: Pod) => Date.parse(pod.metadata?.creationTimestamp ?? '') || 0;

/**
 * compareForDeletion orders pods so the ones to delete first come first, as
 * kube's ActivePodsWithRanks: unscheduled before scheduled, Pending before
 * Unknown before Running, not ready before ready, ready for less time first,
 * more restarts first, newer first.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pr = (p: Pod) => phaseRank[p.status?.phase ?? 'Pending'] ?? 0;
  if (pr(a) !== pr(b)) return pr(a) - pr(b);
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  if (ra && rb) {
    const d = (readySince(b) ?? 0) - (readySince(a) ?? 0);
    if (d !== 0) return d;
  }
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  return created(b) - created(a);
}

/** planReplicaSet compares the active pods the ReplicaSet owns with its replicas. */
export function planReplicaSet(rs: ReplicaSet, ownedPods: readonly Pod[], now: number): ReplicaSetPlan {
  const active = ownedPods.filter(isPodActive);
  const want = rs.spec?.replicas ?? 1;
  const diff = active.length - want;
  const plan: ReplicaSetPlan = { create: 0, delete: [], status: replicaSetStatus(rs, ownedPods, now) };
  if (diff < 0) plan.create = Math.min(-diff, BURST_REPLICAS);
  else if (diff > 0) plan.delete = [...active].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
  return plan;
}

/** replicaSetStatus counts active, fully labelled, ready and available pods. */
export function replicaSetStatus(rs: ReplicaSet, ownedPods: readonly Pod[], now: number): ReplicaSetStatus {
  const active = ownedPods.filter(isPodActive);
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const fullyLabeled = active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v));
  return {
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled.length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata?.generation ?? 0,
  };
}

/** controllerRef returns the owner reference marked controller, if any. */
export function controllerRef(obj: { metadata?: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** podFromTemplate builds the pod a ReplicaSet creates: generateName from the set, controller reference to it. */
export function podFromTemplate(rs: ReplicaSet): Pod {
  const template: PodTemplateSpec = rs.spec?.template ?? {};
  const name = rs.metadata?.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-`,
      namespace: rs.metadata?.namespace,
      labels: { ...template.metadata?.labels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: rs.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
}
