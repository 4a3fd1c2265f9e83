import { isRecord } from '../util/records.ts';

/** PatchError reports a patch that cannot be applied (bad document, failed test op, bad path). */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return isRecord(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  return ak.length === Object.keys(bo).length && ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** PatchLimitError reports a patch, or the object it builds, over a size limit (kube answers 413). */
export class PatchLimitError extends PatchError {
  constructor(message: string) {
    super(message);
    this.name = 'PatchLimitError';
  }
}

/**
 * setMember sets obj[key] as an own data property: a key such as `__proto__`
 * is data from the client, never a change of the object's prototype.
 */
export function setMember(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** member reads an own property only (`constructor` in a patch is not Object's). */
export function member(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
