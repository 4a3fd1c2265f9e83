import { createLogger } from '../../util/log.ts';
import type { Backend, StoredValue, StoreWatch } from './backend.ts';

const log = createLogger('apiserver');

/**
 * What a StoreFeed tells its cache: start again from a list, an object
 * stored, an object gone (with its last value), and that a list's objects
 * have all been put. `revision` is the object's (its resourceVersion, as
 * Registry.toObject stamps it); for a remove, the revision of the delete.
 */
export interface StoreFeedHandlers {
  reset(): void;
  put(key: string, value: StoredValue, revision: number): void;
  remove(key: string, value: StoredValue, revision: number): void;
  /** Called once a list's objects have been put (a cache that rebuilds something per change does it once per list). */
  listed?(): void;
}

/**
 * StoreFeed keeps an in-process cache of what the store holds under a
 * prefix: a list, then a watch from the list's revision, listed again a
 * second after the watch ends (a reflector in its simplest form, for the
 * authorizers' caches, the Service allocator and the served CRDs).
 */
export class StoreFeed {
  private feed: StoreWatch | undefined;
  private closing = false;
  private readonly backend: Backend;
  private readonly prefix: string;
  private readonly what: string;
  private readonly handlers: StoreFeedHandlers;

  constructor(backend: Backend, prefix: string, what: string, handlers: StoreFeedHandlers) {
    this.backend = backend;
    this.prefix = prefix;
    this.what = what;
    this.handlers = handlers;
  }

  async start(): Promise<void> {
    const list = await this.backend.list(this.prefix);
    this.handlers.reset();
    for (const kv of list.items) this.handlers.put(kv.key, kv.value, kv.revision);
    this.handlers.listed?.();
    this.feed = await this.backend.watch(this.prefix, list.revision, {
      // Returns nothing: a false would pause the watch.
      onEvent: (event) => {
        if (event.type === 'DELETED') this.handlers.remove(event.key, event.value, event.revision);
        else this.handlers.put(event.key, event.value, event.revision);
      },
      onClose: (reason) => {
        if (this.closing) return;
        log.warn(`${this.what} feed closed; relisting`, { reason });
        setTimeout(() => void this.start().catch((error: unknown) => log.error(`Relisting ${this.what} failed`, { error })), 1000).unref();
      },
    });
  }

  close(): void {
    this.closing = true;
    this.feed?.close();
  }
}
