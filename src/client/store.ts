import type { KubeObject } from './api-client.ts';

/** IndexFunc maps an object to the index values it is filed under (none, one or several). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** objectKey is client-go's MetaNamespaceKeyFunc: `ns/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  // join makes one flat string; a template literal leaves a cons string and a copy of `ns/` per key (50,000 pods in a DNS cache).
  return ns ? [ns, name].join('/') : name;
}

/** byNamespace files namespaced objects under their namespace. */
export const byNamespace: IndexFunc<KubeObject> = (obj) => (obj.metadata?.namespace ? [obj.metadata.namespace] : []);

/** SERVICE_NAME_LABEL ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** byServiceName files EndpointSlices under `ns/service` from their `kubernetes.io/service-name` label. */
export const byServiceName: IndexFunc<KubeObject> = (obj) => {
  const svc = obj.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc && obj.metadata?.namespace ? [`${obj.metadata.namespace}/${svc}`] : [];
};

/**
 * Store is an informer's local cache: objects by key plus secondary indexes.
 * Only the informer writes to it; readers get the objects as received and
 * must not mutate them.
 */
export class Store<T extends KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers: ReadonlyMap<string, IndexFunc<T>>;
  /** index name → index value → keys. */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.#indexers = new Map(Object.entries(indexers));
    for (const name of this.#indexers.keys()) this.#indexes.set(name, new Map());
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  /** byIndex returns the objects filed under `value` in index `name`; an unknown index throws. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`store has no index ${JSON.stringify(name)}`);
    const keys = index.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.#items.get(k)!);
  }

  /** set adds or replaces an object; returns the previous one. */
  set(key: string, obj: T): T | undefined {
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    this.#items.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  /** delete removes an object; returns it, or undefined if absent. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
