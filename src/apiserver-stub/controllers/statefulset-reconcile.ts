import type { StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podTemplateHash } from './deployment-reconcile.ts';
import { normalizeTemplate } from './deployment-revisions.ts';
import { isPodReady } from './pod-endpoint.ts';
import { isPodAvailable } from './replicaset-reconcile.ts';

/**
 * The StatefulSet controller's reconcile math as pure functions (kube-
 * controller-manager `stateful_set_control.go` `updateStatefulSet`): pods
 * `<name>-<ordinal>` created in order, each once the one before has been
 * Running and Ready for minReadySeconds (OrderedReady) or all at once
 * (Parallel), removed from the highest ordinal down, and replaced by a
 * RollingUpdate from the highest ordinal down to the partition, one at a
 * time.
 */

export const LABEL_REVISION_HASH = 'controller-revision-hash';
export const LABEL_POD_NAME = 'statefulset.kubernetes.io/pod-name';
export const LABEL_POD_INDEX = 'apps.kubernetes.io/pod-index';

export interface StatefulSetPlan {
  /** Ordinals to create, in order. */
  create: number[];
  /**
   * A live pod of the current revision, to copy for ordinals below the
   * partition while a partitioned update is under way (they stay on the
   * current revision; kube reads it from its ControllerRevision, which this
   * control plane does not keep).
   */
  currentSource?: Pod;
  /** Pods to delete, in order. */
  delete: Pod[];
  status: StatefulSetStatus;
  updateRevision: string;
}

/** revisionName names the template's revision as kube's ControllerRevision: `<set>-<hash>`. */
export function revisionName(sts: StatefulSet): string {
  return `${sts.metadata?.name ?? ''}-${podTemplateHash(normalizeTemplate(sts.spec?.template), sts.status?.collisionCount ?? 0)}`;
}

/** ordinalOf reads `<set>-<n>`; undefined for a pod of another name. */
export function ordinalOf(sts: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${sts.metadata?.name ?? ''}-`;
  const name = pod.metadata?.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

const isTerminating = (p: Pod) => p.metadata?.deletionTimestamp !== undefined;
/** isRunningAndAvailable: Running and Ready for minReadySeconds (kube waits on this in OrderedReady and rolling updates). */
const isRunningAndAvailable = (p: Pod, minReady: number, now: number) => p.status?.phase === 'Running' && isPodReady(p) && isPodAvailable(p, minReady, now);
const revisionOf = (p: Pod) => p.metadata?.labels?.[LABEL_REVISION_HASH];

/** planStatefulSet decides the next steps for the pods the set owns. */
export function planStatefulSet(sts: StatefulSet, owned: readonly Pod[], now: number): StatefulSetPlan {
  const start = sts.spec?.ordinals?.start ?? 0;
  const replicas = sts.spec?.replicas ?? 1;
  const end = start + replicas;
  const monotonic = (sts.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const minReady = sts.spec?.minReadySeconds ?? 0;
  const updateRevision = revisionName(sts);
  const byOrdinal = new Map<number, Pod>();
  for (const p of owned) {
    const o = ordinalOf(sts, p);
    if (o !== undefined) byOrdinal.set(o, p);
  }
  const plan: StatefulSetPlan = { create: [], delete: [], updateRevision, status: statefulSetStatus(sts, [...byOrdinal.values()], updateRevision, now) };

  const currentRevision = plan.status.currentRevision;
  if (currentRevision !== updateRevision) {
    const source = [...byOrdinal.values()].find((p) => revisionOf(p) === currentRevision && !isTerminating(p));
    if (source) plan.currentSource = source;
  }

  // Failed pods are deleted and recreated under the same name.
  for (const p of byOrdinal.values()) {
    if (p.status?.phase === 'Failed' && !isTerminating(p)) plan.delete.push(p);
  }
  if (plan.delete.length > 0) return plan;

  // Wanted ordinals, lowest first: create what is missing, waiting on each one in OrderedReady.
  for (let i = start; i < end; i++) {
    const p = byOrdinal.get(i);
    if (!p) {
      plan.create.push(i);
      if (monotonic) return plan;
      continue;
    }
    if (monotonic && (isTerminating(p) || !isRunningAndAvailable(p, minReady, now))) return plan;
  }
  if (plan.create.length > 0) return plan;

  // Condemned ordinals, highest first: one at a time once the rest is healthy (OrderedReady), all at once (Parallel).
  const condemned = [...byOrdinal.entries()].filter(([o]) => o < start || o >= end).sort(([a], [b]) => b - a).map(([, p]) => p);
  for (const p of condemned) {
    if (isTerminating(p)) {
      if (monotonic) return plan;
      continue;
    }
    plan.delete.push(p);
    if (monotonic) return plan;
  }
  if (condemned.length > 0) return plan;

  // RollingUpdate: highest ordinal first down to the partition, one pod at a time, each waited for.
  const strategy = sts.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return plan;
  const partition = strategy?.rollingUpdate?.partition ?? 0;
  for (let i = end - 1; i >= start + partition; i--) {
    const p = byOrdinal.get(i);
    if (!p) return plan;
    if (revisionOf(p) !== updateRevision && !isTerminating(p)) {
      plan.delete.push(p);
      return plan;
    }
    if (!isRunningAndAvailable(p, minReady, now)) return plan;
  }
  return plan;
}

/**
 * statefulSetStatus counts the pods; currentRevision moves to the update
 * revision once every wanted pod runs it (kube's completeRollingUpdate).
 */
export function statefulSetStatus(sts: StatefulSet, pods: readonly Pod[], updateRevision: string, now: number): StatefulSetStatus {
  const live = pods.filter((p) => !isTerminating(p) && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
  const replicas = sts.spec?.replicas ?? 1;
  const updated = live.filter((p) => revisionOf(p) === updateRevision).length;
  let currentRevision = sts.status?.currentRevision || updateRevision;
  const ready = live.filter(isPodReady).length;
  if (updated === replicas && live.length === replicas && ready === replicas) currentRevision = updateRevision;
  return {
    observedGeneration: sts.metadata?.generation ?? 0,
    replicas: live.length,
    readyReplicas: ready,
    availableReplicas: live.filter((p) => isPodAvailable(p, sts.spec?.minReadySeconds ?? 0, now)).length,
    currentReplicas: live.filter((p) => revisionOf(p) === currentRevision).length,
    updatedReplicas: updated,
    currentRevision,
    updateRevision,
    collisionCount: sts.status?.collisionCount ?? 0,
  };
}

/**
 * revisionFor tells which revision a new pod of this ordinal gets: the
 * current one below a RollingUpdate's partition while a copy of it exists,
 * the update revision otherwise.
 */
export function revisionFor(sts: StatefulSet, plan: StatefulSetPlan, ordinal: number): { revision: string; source?: Pod } {
  const strategy = sts.spec?.updateStrategy;
  const partition = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate' ? (strategy?.rollingUpdate?.partition ?? 0) : 0;
  const below = ordinal < (sts.spec?.ordinals?.start ?? 0) + partition;
  if (below && plan.currentSource && plan.status.currentRevision) return { revision: plan.status.currentRevision, source: plan.currentSource };
  return { revision: plan.updateRevision };
}

/** templateOf rebuilds a pod template from a live pod: its labels and annotations and its spec without what was set for that pod. */
function templateOf(pod: Pod): NonNullable<StatefulSet['spec']>['template'] {
  const { nodeName: _n, hostname: _h, subdomain: _s, ...spec } = structuredClone(pod.spec ?? { containers: [] });
  const labels = { ...pod.metadata?.labels };
  for (const k of [LABEL_REVISION_HASH, LABEL_POD_NAME, LABEL_POD_INDEX]) delete labels[k];
  return { metadata: { labels, ...(pod.metadata?.annotations ? { annotations: { ...pod.metadata.annotations } } : {}) }, spec };
}

/** podForOrdinal builds `<set>-<n>` with the stable hostname and the governing Service as subdomain (from `source`'s template when given). */
export function podForOrdinal(sts: StatefulSet, ordinal: number, revision: string, source?: Pod): Pod {
  const template = source ? templateOf(source) : (sts.spec?.template ?? {});
  const set = sts.metadata?.name ?? '';
  const name = `${set}-${ordinal}`;
  const spec = structuredClone(template.spec ?? { containers: [] });
  spec.hostname = name;
  if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: sts.metadata?.namespace,
      labels: { ...template.metadata?.labels, [LABEL_REVISION_HASH]: revision, [LABEL_POD_NAME]: name, [LABEL_POD_INDEX]: String(ordinal) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: set, uid: sts.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}
