import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import type { ApiClient, KubeObject } from './api-client.ts';
import { ApiError, ConnectionError, isExpired } from './errors.ts';
import type { ResourceRef } from './resources.ts';
import type { WatchEvent } from './watch-stream.ts';
import { Backoff } from '../util/backoff.ts';
import { objectKey, Store } from './store.ts';
import type { IndexFunc } from './store.ts';

const log = createLogger('informer');

/**
 * EventHandlers receive the informer's changes in order, one at a time, after
 * the cache was updated. onUpdate(old, cur) with old === cur is a periodic
 * resync. Handlers must not mutate the objects. A handler that throws is
 * logged and does not stop the informer.
 */
export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, cur: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  readonly client: ApiClient;
  readonly resource: ResourceRef;
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  /** Periodic resync (onUpdate(obj, obj) for every cached object); 0 disables (default). */
  readonly resyncPeriodMs?: number;
  /** Page size of the list (default 500). */
  readonly pageSize?: number;
  /** Secondary indexes of the store, e.g. `{ namespace: byNamespace }`. */
  readonly indexers?: Record<string, IndexFunc<T>>;
  /**
   * Applied to every listed or watched object before it is stored and
   * handed to handlers (client-go's SetTransform): keep only the fields the
   * consumer reads, so the cache does not hold whole objects. It must keep
   * metadata.name, namespace and resourceVersion.
   */
  readonly transform?: (obj: T) => T;
  /**
   * Back-off between retries. Connection failures (refused, reset) retry fast
   * (default 100 ms doubling to 500 ms) so a restarted apiserver is picked up
   * within a second; answers such as 401, 403 or 5xx back off longer (default
   * up to 30 s, as client-go's reflector).
   */
  readonly backoff?: { connection?: { initialMs: number; maxMs: number }; api?: { initialMs: number; maxMs: number } };
  /** Server-side watch timeout; default random in [300, 600) s like the reflector. */
  readonly watchTimeoutSeconds?: () => number;
  /**
   * A watch silent this long (no event, no bookmark) is resumed on a new
   * connection, in case the old one is half-open (default 2 minutes: the
   * apiserver sends bookmarks every 30 s to a minute when asked for them).
   */
  readonly watchIdleTimeoutMs?: number;
}

/**
 * Informer is a reflector plus its store: it lists (paginated) and then
 * watches from the list's resourceVersion with bookmarks, re-watches from the
 * last resourceVersion seen after a stream end or network error (with
 * jittered back-off), and relists on 410 Expired (as an ERROR event or an
 * HTTP status) or another API error, emitting the difference against its
 * cache so handlers see a consistent add/update/delete stream.
 */
export class Informer<T extends KubeObject> {
  readonly store: Store<T>;
  /** Resolves once the first list has been stored and dispatched; never rejects. */
  readonly synced: Promise<void>;
  readonly #options: InformerOptions<T>;
  readonly #handlers: EventHandlers<T>[] = [];
  readonly #abort = new AbortController();
  readonly #connectionBackoff: Backoff;
  readonly #apiBackoff: Backoff;
  readonly #name: string;
  #markSynced!: () => void;
  #hasSynced = false;
  #resourceVersion = '';
  #needList = true;
  #running: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.store = new Store<T>(options.indexers);
    this.synced = new Promise((resolve) => (this.#markSynced = resolve));
    this.#connectionBackoff = new Backoff(options.backoff?.connection ?? { initialMs: 100, maxMs: 500 });
    this.#apiBackoff = new Backoff(options.backoff?.api ?? { initialMs: 800, maxMs: 30_000 });
    this.#name = `${options.resource.resource}${options.namespace ? ` in ${options.namespace}` : ''}`;
  }

  /** addHandlers registers handlers; objects already cached are replayed as adds. */
  addHandlers(handlers: EventHandlers<T>): void {
    this.#handlers.push(handlers);
    for (const obj of this.store.list()) this.#call('onAdd', () => handlers.onAdd?.(obj));
  }

  hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The last error the reflector retried after, if any (cleared by a successful list or watch event). */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** start begins list+watch in the background; calling it again does nothing. */
  start(): void {
    if (this.#running || this.#abort.signal.aborted) return;
    this.#running = this.#run();
    const period = this.#options.resyncPeriodMs ?? 0;
    if (period > 0) this.#resyncTimer = setInterval(() => this.#resync(), period).unref();
  }

  /** stop aborts the watch and waits for the loop to end; idempotent. */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    await this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (this.#needList) await this.#listAndReplace();
        await this.#watch();
      } catch (error) {
        if (signal.aborted) break;
        await this.#afterFailure(error as Error);
      }
    }
  }

  async #afterFailure(error: Error): Promise<void> {
    this.#lastError = error;
    const connection = error instanceof ConnectionError;
    const listing = this.#needList;
    if (isExpired(error)) {
      log.info(2, 'Watch expired, relisting', { resource: this.#name, resourceVersion: this.#resourceVersion, err: error.message });
    } else {
      log.warn(listing ? 'Failed to list' : 'Watch failed', { resource: this.#name, err: error.message });
    }
    // A broken connection resumes from the last resourceVersion; any answer
    // from the server we cannot resume from (410, 5xx, a restart that lost
    // history) is settled by a relist, which diffs against the cache.
    if (!connection) this.#needList = true;
    // An expired watch relists at once; an expired list (a stale continue token) backs off like any error.
    const delay = isExpired(error) && !listing ? 0 : (connection ? this.#connectionBackoff : this.#apiBackoff).next();
    await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => undefined);
  }

  async #listAndReplace(): Promise<void> {
    const o = this.#options;
    const list = await o.client.listAll<T>(o.resource, { namespace: o.namespace, labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.pageSize ?? 500 }, o.transform);
    if (this.#abort.signal.aborted) return;
    this.#replace(list.items);
    this.#resourceVersion = list.resourceVersion;
    this.#needList = false;
    this.#lastError = undefined;
    this.#apiBackoff.reset();
    this.#connectionBackoff.reset();
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      log.info(2, 'Informer synced', { resource: this.#name, objects: this.store.size, resourceVersion: list.resourceVersion });
      this.#markSynced();
    }
  }

  /** replace makes the cache equal the (already transformed) list and emits the difference. */
  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.store.set(key, obj);
      if (old) this.#dispatch('onUpdate', (h) => h.onUpdate?.(old, obj));
      else this.#dispatch('onAdd', (h) => h.onAdd?.(obj));
    }
    for (const key of [...this.store.keys()]) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key)!;
      this.#dispatch('onDelete', (h) => h.onDelete?.(old));
    }
  }

  async #watch(): Promise<void> {
    const o = this.#options;
    const events = o.client.watch<T>(o.resource, {
      namespace: o.namespace, labelSelector: o.labelSelector, fieldSelector: o.fieldSelector,
      resourceVersion: this.#resourceVersion, allowWatchBookmarks: true,
      timeoutSeconds: o.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300),
      idleTimeoutMs: o.watchIdleTimeoutMs ?? 120_000,
      signal: this.#abort.signal,
    });
    const started = Date.now();
    let received = 0;
    for await (const event of events) {
      received++;
      this.#apply(event);
      this.#lastError = undefined;
      this.#connectionBackoff.reset();
      this.#apiBackoff.reset();
    }
    if (this.#abort.signal.aborted) return;
    // As client-go: a watch the server ends at once without a single event is
    // a failure to back off from, not a reason to reconnect in a tight loop.
    if (received === 0 && Date.now() - started < 1000) {
      throw new ConnectionError(o.client.server, `watch ${this.#name}`, new Error('very short watch: closed within a second without events'));
    }
    log.info(4, 'Watch closed, resuming', { resource: this.#name, resourceVersion: this.#resourceVersion });
  }

  #apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      throw new ApiError(this.#options.client.server, `watch ${this.#name}`, event.object.code ?? 500, { ...event.object, kind: 'Status' });
    }
    const rv = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const obj = this.#options.transform ? this.#options.transform(event.object) : event.object;
    const key = objectKey(obj);
    if (event.type === 'DELETED') {
      const old = this.store.delete(key);
      this.#dispatch('onDelete', (h) => h.onDelete?.(old ?? obj));
    } else {
      const old = this.store.set(key, obj);
      if (old) this.#dispatch('onUpdate', (h) => h.onUpdate?.(old, obj));
      else this.#dispatch('onAdd', (h) => h.onAdd?.(obj));
    }
    if (rv) this.#resourceVersion = rv;
  }

  #resync(): void {
    if (!this.#hasSynced) return;
    for (const obj of this.store.list()) this.#dispatch('onUpdate', (h) => h.onUpdate?.(obj, obj));
  }

  #dispatch(what: string, call: (h: EventHandlers<T>) => void): void {
    for (const h of this.#handlers) this.#call(what, () => call(h));
  }

  #call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log.error('Event handler failed', { resource: this.#name, handler: what, err: getErrorMessage(error) });
    }
  }
}
