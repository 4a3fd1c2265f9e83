import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../kube/types.ts';
import { apiErrors } from '../errors.ts';
import { apiVersionOf, type ResourceDef } from '../resource.ts';
import { now } from '../meta.ts';
import { fieldsV1Of, fromFieldsV1, scopeOf, toFieldsV1, type FieldSet } from './fieldset.ts';
import { changedFields } from './diff.ts';

/**
 * managedFields as kube-apiserver keeps them: one entry per manager,
 * operation (`Apply` or `Update`) and subresource, holding the fields that
 * manager set. Every write goes through here: an Update takes the fields it
 * changed from whoever had them, and fields it removed leave every set.
 */
export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: unknown;
  subresource?: string;
}

export interface Managed { entry: ManagedEntry; set: FieldSet }



/** managerOf is the fieldManager parameter, else the User-Agent up to its first `/` (kube's default), at most 128 characters. */
export function managerOf(req: IncomingMessage, query: URLSearchParams): string {
  const given = query.get('fieldManager');
  if (given !== null && given !== '') {
    if (given.length > 128) throw apiErrors.badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return given;
  }
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0]!.slice(0, 128);
}

export function parseManaged(obj: KubeObject | undefined): Managed[] {
  const list = obj?.metadata?.managedFields;
  if (!Array.isArray(list)) return [];
  return (list as ManagedEntry[]).filter((e) => e && typeof e.manager === 'string').map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
}

export function serializeManaged(list: readonly Managed[]): ManagedEntry[] {
  return list.filter((m) => m.set.size > 0).map((m) => ({ ...m.entry, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(m.set) }));
}

/**
 * withManaged sets obj's managedFields, or leaves the field out when no entry
 * is left (Go's omitempty): kube's documented way to strip them, a patch
 * setting `managedFields: [{}]`, leaves an object without the field.
 */
export function withManaged(obj: KubeObject, list: readonly ManagedEntry[]): void {
  if (list.length > 0) {
    obj.metadata = { ...obj.metadata, managedFields: list } as KubeObject['metadata'];
    return;
  }
  if (obj.metadata === undefined || !Object.hasOwn(obj.metadata, 'managedFields')) return;
  const { managedFields: _old, ...meta } = obj.metadata;
  obj.metadata = meta;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * baseManaged is where an update starts: the stored entries, or the ones the
 * request wrote itself (kubectl's client-side-to-server-side apply migration
 * patches metadata.managedFields directly).
 */
function baseManaged(old: KubeObject | undefined, next: KubeObject): Managed[] {
  const given = next.metadata?.managedFields;
  if (Array.isArray(given) && !sameValue(given, old?.metadata?.managedFields)) return parseManaged(next);
  return parseManaged(old);
}

/** recordUpdate sets next's managedFields for an Update by manager (create, PUT, non-apply PATCH, scale). */
export function recordUpdate(def: ResourceDef, old: KubeObject | undefined, next: KubeObject, manager: string, subresource?: string): void {
  // A managedFields that is not a list is left for validation to refuse (422 naming it), not papered over.
  const given = next.metadata?.managedFields;
  if (given !== undefined && given !== null && !Array.isArray(given)) return;
  const scope = scopeOf(def, subresource);
  const trackedSub = subresource === 'status' || subresource === 'scale' ? subresource : undefined;
  if (old === undefined && (given === undefined || given === null || (given as unknown[]).length === 0)) {
    // A create by one manager: it owns all it set; built straight into FieldsV1.
    const fieldsV1 = fieldsV1Of(scope, next);
    const entry: ManagedEntry = { manager, operation: 'Update', apiVersion: apiVersionOf(def), time: now(), fieldsType: 'FieldsV1', fieldsV1, ...(trackedSub ? { subresource: trackedSub } : {}) };
    withManaged(next, Object.keys(fieldsV1).length > 0 ? [entry] : []);
    return;
  }
  const managed = baseManaged(old, next);
  const { changed, removed } = changedFields(scope, old, next);
  let own = managed.find((m) => m.entry.manager === manager && m.entry.operation === 'Update' && m.entry.subresource === trackedSub);
  for (const m of managed) {
    for (const p of removed) m.set.delete(p);
    if (m !== own) for (const p of changed) m.set.delete(p);
  }
  if (changed.size > 0) {
    if (!own) {
      own = { entry: { manager, operation: 'Update', apiVersion: apiVersionOf(def), time: now(), fieldsType: 'FieldsV1', fieldsV1: {}, ...(trackedSub ? { subresource: trackedSub } : {}) }, set: new Set() };
      managed.push(own);
    }
    for (const p of changed) own.set.add(p);
    own.entry = { ...own.entry, time: now() };
  }
  withManaged(next, serializeManaged(managed));
}

export { now };
