/**
 * SnapshotMap is a mutable map that hands out cheap immutable snapshots, so a
 * ProxyState over 10,000 services does not copy 10,000 entries on every sync
 * for one changed endpoint. A snapshot is a frozen base map plus a small
 * frozen overlay of the changes made since the base was taken (undefined
 * marks a deletion); once the overlay grows past a fraction of the base, the
 * next snapshot folds it into a new base. Snapshots never change afterwards.
 */
export class SnapshotMap<V> {
  #base: Map<string, V> = new Map();
  #overlay = new Map<string, V | undefined>();
  #size = 0;
  /** The last snapshot handed out, reused while nothing changed. */
  #last: LayeredMap<V> | undefined;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#overlay.has(key) ? this.#overlay.get(key) : this.#base.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    if (!this.has(key)) this.#size++;
    this.#overlay.set(key, value);
    this.#last = undefined;
  }

  delete(key: string): void {
    if (!this.has(key)) return;
    this.#size--;
    if (this.#base.has(key)) this.#overlay.set(key, undefined);
    else this.#overlay.delete(key);
    this.#last = undefined;
  }

  keys(): IterableIterator<string> {
    return this.snapshot().keys();
  }

  /** snapshot returns an immutable view of the current contents: O(changes since the last fold). */
  snapshot(): ReadonlyMap<string, V> {
    if (this.#last) return this.#last;
    if (this.#overlay.size > 64 + this.#base.size / 16) {
      const next = new Map<string, V>();
      for (const [k, v] of new LayeredMap(this.#base, this.#overlay, this.#size)) next.set(k, v);
      this.#base = next;
      this.#overlay = new Map();
    }
    this.#last = new LayeredMap(this.#base, new Map(this.#overlay), this.#size);
    return this.#last;
  }
}

/** LayeredMap is a read-only map over a base and an overlay that wins over it; neither is mutated after construction. */
class LayeredMap<V> implements ReadonlyMap<string, V> {
  readonly #base: ReadonlyMap<string, V>;
  readonly #overlay: ReadonlyMap<string, V | undefined>;
  readonly size: number;

  constructor(base: ReadonlyMap<string, V>, overlay: ReadonlyMap<string, V | undefined>, size: number) {
    this.#base = base;
    this.#overlay = overlay;
    this.size = size;
  }

  get(key: string): V | undefined {
    return this.#overlay.has(key) ? this.#overlay.get(key) : this.#base.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): MapIterator<[string, V]> {
    for (const [k, v] of this.#base) if (!this.#overlay.has(k)) yield [k, v];
    for (const [k, v] of this.#overlay) if (v !== undefined) yield [k, v];
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}
