import type { LabelSelector, ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { fromLabelSelector, matchesLabels } from '../../kube/labels.ts';

/**
 * Adoption as kube's ControllerRefManager (`controller_ref_manager.go`): a
 * controller claims the objects of its namespace that its selector matches
 * and that have no controller, unless either side is being deleted. Orphans
 * appear after `kubectl delete --cascade=orphan`: a Deployment created again
 * takes its old ReplicaSets back, a ReplicaSet its old pods.
 */

interface WithMeta {
  metadata?: ObjectMeta;
}

/** selectorSelects is a LabelSelector match where an empty or missing selector selects nothing (kube's rule for controllers). */
export function selectorSelects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)) return false;
  try {
    return matchesLabels(fromLabelSelector(selector), labels);
  } catch {
    return false;
  }
}

/** adoptable lists the candidates the owner may claim: same namespace, no controller, not being deleted, selected. */
export function adoptable<T extends WithMeta>(owner: WithMeta & { spec?: { selector?: LabelSelector } }, candidates: readonly T[]): T[] {
  if (owner.metadata?.deletionTimestamp) return [];
  return candidates.filter((c) => {
    const m = c.metadata;
    return m?.namespace === owner.metadata?.namespace && !m?.deletionTimestamp && !(m?.ownerReferences ?? []).some((r) => r.controller === true) && selectorSelects(owner.spec?.selector, m?.labels);
  });
}

/** adoptionPatch is the merge patch that adds the owner's controller reference, at the candidate's resourceVersion. */
export function adoptionPatch(candidate: WithMeta, owner: OwnerReference): { metadata: { ownerReferences: OwnerReference[]; resourceVersion?: string } } {
  const refs = [...(candidate.metadata?.ownerReferences ?? []).filter((r) => r.uid !== owner.uid), owner];
  return { metadata: { ownerReferences: refs, ...(candidate.metadata?.resourceVersion ? { resourceVersion: candidate.metadata.resourceVersion } : {}) } };
}

/** controllerOwnerRef is the reference a controller puts on what it creates or adopts. */
export function controllerOwnerRef(apiVersion: string, kind: string, owner: WithMeta): OwnerReference {
  return { apiVersion, kind, name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}
