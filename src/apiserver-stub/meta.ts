import { randomUUID } from 'node:crypto';
import type { KubeObject, Meta, StatusCause } from '../kube/types.ts';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '../kube/names.ts';
import { deepEqual } from '../kube/patch-errors.ts';
import { cause } from './errors.ts';

/** Object metadata the server owns (apiserver `rest.FillObjectMetaSystemFields` and the update strategies). */

/** now is an RFC 3339 timestamp at second precision, as metav1.Time serialises; formatted once a second, not on every write. */
export function now(): string {
  const current = Math.floor(Date.now() / 1000);
  if (current !== second) {
    second = current;
    secondText = new Date(current * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  return secondText;
}

let second = -1;
let secondText = '';

export function metaOf(obj: KubeObject): Meta {
  if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) obj.metadata = {};
  return obj.metadata;
}

export function fillCreateMeta(obj: KubeObject): void {
  const m = metaOf(obj);
  m.uid = randomUUID();
  m.creationTimestamp = now();
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  m.generation = 1;
}

/** carryUpdateMeta copies the fields a client cannot change on update from the stored object. */
export function carryUpdateMeta(obj: KubeObject, old: KubeObject): void {
  const m = metaOf(obj);
  const o = old.metadata ?? {};
  m.uid = o.uid;
  m.creationTimestamp = o.creationTimestamp;
  if (o.deletionTimestamp !== undefined) m.deletionTimestamp = o.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (o.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  delete m.resourceVersion;
  m.generation = o.generation ?? 1;
}

function withoutMetaAndStatus(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** specChanged: everything except metadata and status counts as spec for generation. */
export function specChanged(obj: KubeObject, old: KubeObject): boolean {
  return !deepEqual(withoutMetaAndStatus(obj), withoutMetaAndStatus(old));
}

/** 'path': any name usable as a URL path segment (RBAC objects, as kube's `ValidatePathSegmentName`: `system:node-proxier`). */
export type NameFormat = 'subdomain' | 'label' | 'dns1035' | 'path';

function isPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return /[/%]/.test(name) ? [`may not contain '${name.includes('/') ? '/' : '%'}'`] : [];
}

/** validateMeta checks name, labels and annotations (apimachinery `ValidateObjectMeta`). */
export function validateMeta(obj: KubeObject, format: NameFormat): StatusCause[] {
  const m = obj.metadata ?? {};
  const causes: StatusCause[] = [];
  if (typeof m.name !== 'string' || m.name === '') causes.push(cause.required('metadata.name', 'Required value: name or generateName is required'));
  else {
    const check = format === 'label' ? isDNS1123Label : format === 'dns1035' ? isDNS1035Label : format === 'path' ? isPathSegmentName : isDNS1123Subdomain;
    for (const e of check(m.name)) causes.push(cause.invalid('metadata.name', m.name, e));
  }
  causes.push(...validateStringMap(m.labels, 'metadata.labels', true));
  causes.push(...validateStringMap(m.annotations, 'metadata.annotations', false));
  if (m.finalizers !== undefined && (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== 'string'))) {
    causes.push(cause.invalid('metadata.finalizers', m.finalizers, 'must be a list of strings'));
  }
  const refs: unknown = m.ownerReferences;
  if (refs !== undefined && (!Array.isArray(refs) || refs.some((r) => typeof r !== 'object' || r === null || typeof (r as { uid?: unknown }).uid !== 'string'))) {
    causes.push(cause.invalid('metadata.ownerReferences', refs, 'must be a list of owner references, each with a uid'));
  }
  return causes;
}

function validateStringMap(map: unknown, field: string, labelValues: boolean): StatusCause[] {
  if (map === undefined || map === null) return [];
  if (typeof map !== 'object' || Array.isArray(map)) return [cause.invalid(field, map, 'must be a map of strings')];
  const causes: StatusCause[] = [];
  for (const [k, v] of Object.entries(map)) {
    for (const e of isQualifiedName(k)) causes.push(cause.invalid(field, k, e));
    if (typeof v !== 'string') causes.push(cause.invalid(`${field}[${k}]`, v, 'must be a string'));
    else if (labelValues) for (const e of isValidLabelValue(v)) causes.push(cause.invalid(field, v, e));
  }
  return causes;
}
