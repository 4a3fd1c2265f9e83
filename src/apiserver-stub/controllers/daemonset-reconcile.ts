import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, NodeSelectorTerm, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { matchRequirement, tolerates } from '../scheduler/plugins.ts';
import { podTemplateHash } from './deployment-reconcile.ts';
import { normalizeTemplate } from './deployment-revisions.ts';
import { isPodReady } from './pod-endpoint.ts';
import { isPodActive, isPodAvailable } from './replicaset-reconcile.ts';

/**
 * The DaemonSet controller's reconcile math as pure functions (kube-
 * controller-manager `daemon_controller.go` `manage`, `update.go`
 * `rollingUpdate`, `util.AddOrUpdateDaemonPodTolerations`): which nodes
 * should run a daemon pod, what to create and delete, how far a rolling
 * update may go, and the status to report.
 */

export const LABEL_REVISION_HASH = 'controller-revision-hash';

/** DAEMON_TOLERATIONS are the tolerations kube adds to every daemon pod. */
export const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

export interface DaemonSetPlan {
  /** Nodes to create a daemon pod on. */
  create: string[];
  delete: Pod[];
  status: DaemonSetStatus;
  hash: string;
}

/** templateHash names the current template's revision (the label the pods carry). */
export function templateHash(ds: DaemonSet): string {
  return podTemplateHash(normalizeTemplate(ds.spec?.template), ds.status?.collisionCount ?? 0);
}

/** withDaemonTolerations adds kube's daemon tolerations the template lacks. */
export function withDaemonTolerations(own: readonly Toleration[] | undefined): Toleration[] {
  const out = [...(own ?? [])];
  for (const t of DAEMON_TOLERATIONS) if (!out.some((o) => o.key === t.key && o.effect === t.effect && o.operator === t.operator)) out.push(t);
  return out;
}

function matchTerm(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  return exprs.every((r) => matchRequirement(r, labels[r.key])) && fields.every((r) => matchRequirement(r, r.key === 'metadata.name' ? node.metadata?.name : undefined));
}

/**
 * shouldRunOn is kube's NodeShouldRunDaemonPod: the template's nodeSelector
 * and required node affinity match the node, and every NoSchedule/NoExecute
 * taint is tolerated by the template's tolerations plus the daemon ones.
 * Unschedulable nodes still get a pod (the unschedulable toleration).
 */
export function shouldRunOn(ds: DaemonSet, node: Node): boolean {
  const spec = ds.spec?.template?.spec;
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => matchTerm(t, node))) return false;
  const tols = withDaemonTolerations(spec?.tolerations);
  return (node.spec?.taints ?? []).every((taint) => taint.effect === 'PreferNoSchedule' || tols.some((t) => tolerates(t, taint)));
}

const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;

/** maxUnavailableOf resolves the rolling update's maxUnavailable (int or percent of desired, rounded up; at least 1). */
export function maxUnavailableOf(ds: DaemonSet, desired: number): number {
  const v = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  const n = typeof v === 'number' ? v : Math.ceil((Number.parseInt(v, 10) * desired) / 100);
  return Math.max(1, n);
}

/** planDaemonSet compares each node's daemon pods with whether it should run one. */
export function planDaemonSet(ds: DaemonSet, nodes: readonly Node[], owned: readonly Pod[], now: number): DaemonSetPlan {
  const hash = templateHash(ds);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const byNode = new Map<string, Pod[]>();
  const plan: DaemonSetPlan = { create: [], delete: [], hash, status: {} as DaemonSetStatus };
  for (const p of owned) {
    if (p.metadata?.deletionTimestamp) continue;
    // A failed daemon pod is deleted and replaced, as kube does.
    if (p.status?.phase === 'Failed') {
      plan.delete.push(p);
      continue;
    }
    const node = p.spec?.nodeName ?? '';
    byNode.set(node, [...(byNode.get(node) ?? []), p]);
  }
  const s = { desired: 0, current: 0, misscheduled: 0, ready: 0, updated: 0, available: 0 };
  const oldPods: Pod[] = [];
  let unavailable = 0;
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const pods = (byNode.get(name) ?? []).filter(isPodActive).sort((a, b) => created(a) - created(b));
    byNode.delete(name);
    if (!shouldRunOn(ds, node)) {
      if (pods.length > 0) s.misscheduled++;
      plan.delete.push(...pods);
      continue;
    }
    s.desired++;
    if (pods.length === 0) {
      plan.create.push(name);
      unavailable++;
      continue;
    }
    // More than one: keep the oldest (kube keeps the oldest and deletes the others).
    plan.delete.push(...pods.slice(1));
    const pod = pods[0]!;
    s.current++;
    if (isPodReady(pod)) s.ready++;
    const available = isPodAvailable(pod, minReady, now);
    if (available) s.available++;
    else unavailable++;
    if (pod.metadata?.labels?.[LABEL_REVISION_HASH] === hash) s.updated++;
    else oldPods.push(pod);
  }
  // Pods on nodes that no longer exist go too.
  for (const pods of byNode.values()) plan.delete.push(...pods.filter(isPodActive));
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') plan.delete.push(...rollingUpdateDeletions(oldPods, unavailable, maxUnavailableOf(ds, s.desired), minReady, now));
  plan.status = {
    desiredNumberScheduled: s.desired,
    currentNumberScheduled: s.current,
    numberMisscheduled: s.misscheduled,
    numberReady: s.ready,
    updatedNumberScheduled: s.updated,
    numberAvailable: s.available,
    numberUnavailable: s.desired - s.available,
    observedGeneration: ds.metadata?.generation ?? 0,
    ...(ds.status?.collisionCount ? { collisionCount: ds.status.collisionCount } : {}),
  };
  return plan;
}

/**
 * rollingUpdateDeletions is kube's rollingUpdate with maxSurge 0: old pods
 * that are not available go at once; available ones only while the nodes
 * without an available pod stay within maxUnavailable.
 */
function rollingUpdateDeletions(oldPods: readonly Pod[], unavailable: number, maxUnavailable: number, minReady: number, now: number): Pod[] {
  const out: Pod[] = [];
  let budget = maxUnavailable - unavailable;
  for (const p of oldPods) {
    if (!isPodAvailable(p, minReady, now)) out.push(p);
  }
  for (const p of [...oldPods].sort((a, b) => created(a) - created(b))) {
    if (budget <= 0) break;
    if (!isPodAvailable(p, minReady, now)) continue;
    out.push(p);
    budget--;
  }
  return out;
}

/**
 * podForNode builds a daemon pod bound to its node: spec.nodeName set, and
 * the node affinity on metadata.name that kube's controller adds so the
 * pod could only ever run there.
 */
export function podForNode(ds: DaemonSet, node: string, hash: string): Pod {
  const template = ds.spec?.template ?? {};
  const name = ds.metadata?.name ?? '';
  const spec = structuredClone(template.spec ?? { containers: [] });
  spec.nodeName = node;
  spec.tolerations = withDaemonTolerations(spec.tolerations);
  spec.affinity = {
    ...spec.affinity,
    nodeAffinity: {
      ...spec.affinity?.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] },
    },
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-`,
      namespace: ds.metadata?.namespace,
      labels: { ...template.metadata?.labels, [LABEL_REVISION_HASH]: hash, 'pod-template-generation': String(ds.metadata?.generation ?? 1) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name, uid: ds.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}
