import type { KubeObject } from '../../kube/types.ts';
import type { Backend, KeyValue, ListOptions, ListResult, StoreEvent, StoreWatch, StoredValue, WatchHandlers } from '../storage/backend.ts';

/** Converts objects to an apiVersion (all of one kind), keeping their order; throws ApiError when it cannot. */
export type Convert = (objects: readonly KubeObject[], apiVersion: string) => Promise<KubeObject[]>;

/** A watcher converting this many events ahead of its reader pauses the store's delivery. */
const MAX_PENDING_EVENTS = 64;

/**
 * ConvertingStore is the Backend one served version of a CRD with webhook
 * conversion reads and writes through, as kube's storage codec converts:
 * what is read (get, list, watch, and what a write returns) arrives in the
 * served version, whatever version it was stored in, and what is written
 * is stored in the storage version. Conversion goes through `convert` (the
 * webhook), which only sees objects not already in the wanted version.
 */
export class ConvertingStore implements Backend {
  private readonly inner: Backend;
  private readonly convert: Convert;
  private readonly served: string;
  private readonly storage: string;

  constructor(inner: Backend, convert: Convert, served: string, storage: string) {
    this.inner = inner;
    this.convert = convert;
    this.served = served;
    this.storage = storage;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  currentRevision(): number {
    return this.inner.currentRevision();
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async values(values: readonly StoredValue[], apiVersion: string): Promise<StoredValue[]> {
    if (values.every((v) => v.apiVersion === apiVersion)) return [...values];
    return (await this.convert(values as readonly KubeObject[], apiVersion)) as StoredValue[];
  }

  private async read(kv: KeyValue): Promise<KeyValue> {
    const [value] = await this.values([kv.value], this.served);
    return { ...kv, value: value! };
  }

  private async toStorage(value: StoredValue): Promise<StoredValue> {
    return (await this.values([value], this.storage))[0]!;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.read(kv);
  }

  async create(key: string, value: StoredValue): Promise<KeyValue> {
    return this.read(await this.inner.create(key, await this.toStorage(value)));
  }

  async update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue> {
    return this.read(await this.inner.update(key, await this.toStorage(value), expectedRevision));
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.read(await this.inner.delete(key, expectedRevision));
  }

  /** list converts a page in one request to the webhook, as kube sends a list's items together. */
  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    const page = await this.inner.list(prefix, options);
    const values = await this.values(page.items.map((kv) => kv.value), this.served);
    return { ...page, items: page.items.map((kv, i) => ({ ...kv, value: values[i]! })) };
  }

  /**
   * watch converts each event in revision order; a failed conversion ends
   * the watch with that error (the client sees it and re-watches), rather
   * than skipping an event or sending it unconverted.
   */
  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch> {
    let chain = Promise.resolve();
    let closed = false;
    let pending = 0;
    let delivered = fromRevision;
    let readerPaused = false;
    let innerPaused = false;
    const busy = () => readerPaused || pending >= MAX_PENDING_EVENTS;
    const maybeResume = () => {
      if (innerPaused && !busy() && !closed) {
        innerPaused = false;
        inner.resume();
      }
    };
    const deliver = async (event: StoreEvent) => {
      if (closed) return;
      let value: StoredValue;
      try {
        [value] = (await this.values([event.value], this.served)) as [StoredValue];
      } catch (error) {
        if (closed) return;
        closed = true;
        inner.close();
        return handlers.onClose(error as Error);
      }
      pending--;
      delivered = event.revision;
      if (closed) return;
      if (handlers.onEvent({ ...event, value }) === false) readerPaused = true;
      maybeResume();
    };
    const inner = await this.inner.watch(prefix, fromRevision, {
      onEvent: (event) => {
        pending++;
        chain = chain.then(() => deliver(event));
        if (!busy()) return true;
        innerPaused = true;
        return false;
      },
      onClose: (reason) => {
        chain = chain.then(() => {
          if (closed) return;
          closed = true;
          handlers.onClose(reason);
        });
      },
    });
    return {
      close: () => {
        closed = true;
        inner.close();
      },
      resume: () => {
        readerPaused = false;
        maybeResume();
      },
      // Events still being converted have not reached the reader: a bookmark must not claim them.
      progressRevision: () => (pending === 0 ? inner.progressRevision() : delivered),
    };
  }
}
