import type { KubeObject } from '../../kube/types.ts';
import type { Definitions } from '../openapi/definitions.ts';
import { decodePath, encodePath, fieldSchema, keyElement, listKind, resolve, trackedRoot, valueAt, walk, type FieldSet, type Scope } from './fieldset.ts';
import { isRecord } from '../../util/records.ts';

/**
 * changedFields are the fields of next that old lacks or holds with another
 * value (a keyed item itself only when new), and the fields old has that
 * next no longer sets: what an Update takes and what leaves every manager.
 *
 * It is the difference of the two objects' field sets, computed in one walk
 * of both at once: an update changes a few fields of a large object, so
 * building both sets and looking every path up again in both objects (the
 * definition) cost more than the rest of the write. Where the two differ in
 * shape at a node, their sets under it are disjoint (a leaf is the node, a
 * struct's fields are `f:`, a keyed list's items `k:`, a set's members
 * `v:`), so next's paths there are all changed and old's all removed. A
 * keyed list with a key given twice falls back to the definition.
 */
type Obj = Record<string, unknown>;
type Schema = Record<string, unknown>;

export interface FieldChanges { changed: FieldSet; removed: FieldSet }

type Shape = 'leaf' | 'struct' | 'map' | 'set' | 'none';

function isArbitrary(definitions: Definitions, schema: Schema | undefined): boolean {
  const s = resolve(definitions, schema);
  return !s || (s.type === 'object' && !s.properties && !s.additionalProperties);
}

/** shapeOf classifies a value as fieldSetOf's walk treats it (`none`: a keyed list or set with no items sets nothing). */
function shapeOf(definitions: Definitions, value: unknown, schema: Schema | undefined): Shape {
  if (Array.isArray(value)) {
    const kind = listKind(schema);
    if (kind.kind === 'map' && value.every((v) => isRecord(v) && v[kind.keys[0]!] !== undefined)) return value.length === 0 ? 'none' : 'map';
    if (kind.kind === 'set' && value.every((v) => !isRecord(v) && !Array.isArray(v))) return value.length === 0 ? 'none' : 'set';
    return 'leaf';
  }
  if (!isRecord(value) || Object.keys(value).length === 0 || isArbitrary(definitions, schema)) return 'leaf';
  return 'struct';
}

class Differ {
  readonly changed: FieldSet = new Set();
  readonly removed: FieldSet = new Set();
  private readonly scope: Scope;
  private readonly oldRoot: Obj;
  private readonly nextRoot: Obj;

  constructor(scope: Scope, oldRoot: Obj, nextRoot: Obj) {
    this.scope = scope;
    this.oldRoot = oldRoot;
    this.nextRoot = nextRoot;
  }

  /** every adds all of a subtree's paths to one side (fieldSetOf's walk, rooted at path). */
  private every(value: unknown, schema: Schema | undefined, path: string[], into: FieldSet): void {
    walk(this.scope, value, schema, [...path], into);
  }

  /** definition diffs a subtree as the sets do: both sets built, every shared path's values compared. */
  private definition(old: unknown, next: unknown, schema: Schema | undefined, path: string[]): void {
    const oldSet: FieldSet = new Set();
    const nextSet: FieldSet = new Set();
    this.every(old, schema, path, oldSet);
    this.every(next, schema, path, nextSet);
    for (const p of nextSet) {
      if (!oldSet.has(p)) this.changed.add(p);
      else {
        const full = decodePath(p);
        if (!full[full.length - 1]?.startsWith('k:') && JSON.stringify(valueAt(this.nextRoot, full)) !== JSON.stringify(valueAt(this.oldRoot, full))) this.changed.add(p);
      }
    }
    for (const p of oldSet) if (!nextSet.has(p)) this.removed.add(p);
  }

  diff(old: unknown, next: unknown, schema: Schema | undefined, path: string[]): void {
    const { definitions } = this.scope;
    const oldShape = old === undefined ? 'none' : shapeOf(definitions, old, schema);
    const nextShape = next === undefined ? 'none' : shapeOf(definitions, next, schema);
    if (oldShape !== nextShape) {
      if (next !== undefined) this.every(next, schema, path, this.changed);
      if (old !== undefined) this.every(old, schema, path, this.removed);
      return;
    }
    switch (nextShape) {
      case 'none':
        return;
      case 'leaf':
        if (JSON.stringify(old) !== JSON.stringify(next)) this.changed.add(encodePath(path));
        return;
      case 'struct':
        return this.diffStruct(old as Obj, next as Obj, schema, path);
      case 'set':
        return this.diffSet(old as unknown[], next as unknown[], path);
      case 'map':
        return this.diffMap(old as Obj[], next as Obj[], schema, path);
    }
  }

  diffRoot(old: Obj, next: Obj): void {
    this.diffStruct(old, next, this.scope.root, []);
  }

  private diffStruct(old: Obj, next: Obj, schema: Schema | undefined, path: string[]): void {
    const { definitions } = this.scope;
    for (const k in next) {
      if (!Object.hasOwn(next, k)) continue;
      path.push(`f:${k}`);
      this.diff(Object.hasOwn(old, k) ? old[k] : undefined, next[k], fieldSchema(definitions, schema, k), path);
      path.pop();
    }
    for (const k in old) {
      if (!Object.hasOwn(old, k) || Object.hasOwn(next, k)) continue;
      path.push(`f:${k}`);
      this.diff(old[k], undefined, fieldSchema(definitions, schema, k), path);
      path.pop();
    }
  }

  private diffSet(old: unknown[], next: unknown[], path: string[]): void {
    const members = (list: unknown[]) => new Set(list.map((v) => `v:${JSON.stringify(v)}`));
    const had = members(old);
    const has = members(next);
    for (const m of has) if (!had.has(m)) this.changed.add(encodePath([...path, m]));
    for (const m of had) if (!has.has(m)) this.removed.add(encodePath([...path, m]));
  }

  private diffMap(old: Obj[], next: Obj[], schema: Schema | undefined, path: string[]): void {
    const keys = (listKind(schema) as { keys: readonly string[] }).keys;
    const byKey = (list: Obj[]): Map<string, Obj> | undefined => {
      const out = new Map<string, Obj>();
      for (const item of list) {
        const key = keyElement(keys, item);
        if (out.has(key)) return undefined;
        out.set(key, item);
      }
      return out;
    };
    const had = byKey(old);
    const has = byKey(next);
    if (had === undefined || has === undefined) return this.definition(old, next, schema, path);
    const items = resolve(this.scope.definitions, schema)?.items as Schema | undefined;
    const { definitions } = this.scope;
    for (const [key, item] of has) {
      path.push(key);
      const before = had.get(key);
      if (before === undefined) {
        this.changed.add(encodePath(path));
        this.every(item, items, path, this.changed);
      } else if (shapeOf(definitions, before, items) === 'struct' && shapeOf(definitions, item, items) === 'struct') this.diff(before, item, items, path);
      // An item that is a leaf by its schema is the item's own path, never changed while it is there: the definition's way.
      else this.definition(before, item, items, path);
      path.pop();
    }
    for (const [key, item] of had) {
      if (has.has(key)) continue;
      path.push(key);
      this.removed.add(encodePath(path));
      this.every(item, items, path, this.removed);
      path.pop();
    }
  }
}

export function changedFields(scope: Scope, old: KubeObject | undefined, next: KubeObject): FieldChanges {
  const oldRoot = old ? trackedRoot(scope, old) : {};
  const nextRoot = trackedRoot(scope, next);
  const differ = new Differ(scope, oldRoot, nextRoot);
  // The root is never a field itself: its tracked keys are, even when none is left.
  differ.diffRoot(oldRoot, nextRoot);
  return { changed: differ.changed, removed: differ.removed };
}
