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
  /** Callers of caughtUp waiting for the cache to reach a revision. */
  private waiters: Array<{ revision: number; done: (caught: boolean) => void }> = [];

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
        this.wake();
      },
      onClose: (reason) => {
        if (this.closing) return;
        // Until the relist, the cache is not caught up with anything (caughtUp waits).
        this.feed = undefined;
        log.warn(`${this.what} feed closed; relisting`, { reason });
        setTimeout(() => void this.start().catch((error: unknown) => log.error(`Relisting ${this.what} failed`, { error })), 1000).unref();
      },
    });
    this.wake();
  }

  /**
   * caughtUp resolves true once the cache holds every write under the prefix
   * up to `revision` (at once if it does), or false after `ms` without: the
   * watch is down, or, on etcd, nothing under the prefix was written since
   * and no progress notification has come yet. With `ms` 0 it waits one turn
   * of the event loop, which delivers what an in-process store has already
   * queued for the watch (its writes queue events as they apply).
   */
  caughtUp(revision: number, ms: number): Promise<boolean> {
    if (this.progress() >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const giveUp = () => waiter.done(false);
      const timer = ms > 0 ? setTimeout(giveUp, ms).unref() : undefined;
      const turn = ms > 0 ? undefined : setImmediate(giveUp);
      const waiter = { revision, done: (caught: boolean) => {
        clearTimeout(timer);
        clearImmediate(turn);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(caught);
      } };
      this.waiters.push(waiter);
    });
  }

  private progress(): number {
    return this.feed?.progressRevision() ?? 0;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const progress = this.progress();
    for (const w of this.waiters.filter((w) => w.revision <= progress)) w.done(true);
  }

  close(): void {
    this.closing = true;
    this.feed?.close();
    for (const w of [...this.waiters]) w.done(false);
  }
}
