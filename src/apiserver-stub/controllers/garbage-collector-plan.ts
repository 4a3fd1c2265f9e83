import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';

/** Owned is any object as the collector reads it: its metadata. */
export interface Owned {
  metadata?: ObjectMeta;
}
type KubeObject = Owned;

/**
 * The garbage collector's decisions as pure functions (kube-controller-manager
 * `pkg/controller/garbagecollector`: `attemptToDeleteItem`,
 * `processDeletingDependentsItem`, `orphanDependents`).
 */

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** OwnerState is what the collector found of one owner reference. */
export type OwnerState = 'absent' | 'present' | 'deletingForeground';

export type DeletePolicy = 'Background' | 'Foreground' | 'Orphan';

/** ItemAction is what to do about an object that is not being deleted. */
export type ItemAction = { kind: 'keep' } | { kind: 'delete'; policy: DeletePolicy } | { kind: 'dropRefs'; ownerReferences: OwnerReference[] };

const ownerRefs = (obj: KubeObject): OwnerReference[] => obj.metadata?.ownerReferences ?? [];

/**
 * planItem decides the fate of an object from the state of each owner: kept
 * while it has a solid owner (the references to absent owners dropped),
 * deleted when none is left (in the foreground when an owner waits for it in
 * the foreground and it has dependents itself, else by its own finalizer's
 * policy, else in the background).
 */
export function planItem(obj: KubeObject, states: ReadonlyMap<string, OwnerState>, hasDependents: boolean): ItemAction {
  const refs = ownerRefs(obj);
  if (refs.length === 0) return { kind: 'keep' };
  const state = (r: OwnerReference) => states.get(r.uid) ?? 'present';
  const solid = refs.filter((r) => state(r) === 'present');
  const dangling = refs.filter((r) => state(r) === 'absent');
  const waiting = refs.filter((r) => state(r) === 'deletingForeground');
  if (solid.length > 0) return dangling.length > 0 ? { kind: 'dropRefs', ownerReferences: refs.filter((r) => state(r) !== 'absent') } : { kind: 'keep' };
  if (waiting.length > 0 && hasDependents) return { kind: 'delete', policy: 'Foreground' };
  const finalizers = obj.metadata?.finalizers ?? [];
  if (finalizers.includes(FINALIZER_ORPHAN)) return { kind: 'delete', policy: 'Orphan' };
  if (finalizers.includes(FINALIZER_FOREGROUND)) return { kind: 'delete', policy: 'Foreground' };
  return { kind: 'delete', policy: 'Background' };
}

/** blocksOwner tells whether a dependent holds up its owner's foreground deletion (blockOwnerDeletion on its reference). */
export function blocksOwner(dependent: KubeObject, ownerUid: string): boolean {
  return ownerRefs(dependent).some((r) => r.uid === ownerUid && r.blockOwnerDeletion === true);
}

/** withoutOwner is a dependent's owner references without the one to ownerUid (null when none is left, for a merge patch). */
export function withoutOwner(dependent: KubeObject, ownerUid: string): OwnerReference[] | null {
  const rest = ownerRefs(dependent).filter((r) => r.uid !== ownerUid);
  return rest.length > 0 ? rest : null;
}

/** deletingWith tells which of the collector's finalizers a deleting object carries, orphan first as kube checks it. */
export function deletingWith(obj: KubeObject): typeof FINALIZER_ORPHAN | typeof FINALIZER_FOREGROUND | undefined {
  if (!obj.metadata?.deletionTimestamp) return undefined;
  const f = obj.metadata.finalizers ?? [];
  if (f.includes(FINALIZER_ORPHAN)) return FINALIZER_ORPHAN;
  if (f.includes(FINALIZER_FOREGROUND)) return FINALIZER_FOREGROUND;
  return undefined;
}

/** ownerStateOf reads an owner as the collector sees it: absent unless found with the referenced uid. */
export function ownerStateOf(owner: KubeObject | undefined, uid: string): OwnerState {
  if (!owner || owner.metadata?.uid !== uid) return 'absent';
  return deletingWith(owner) === FINALIZER_FOREGROUND ? 'deletingForeground' : 'present';
}
