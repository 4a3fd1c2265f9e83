import type { KeyValue, StoreEvent, StoredValue, StoreWatch } from '../storage/backend.ts';
import type { KubeObject } from '../../kube/types.ts';
import { ApiError, apiErrors, isStoreError } from '../errors.ts';
import { compilePredicate, type ListOptions } from '../list-options.ts';
import { apiVersionOf } from '../resource.ts';
import type { Ctx } from './context.ts';
import { toTable, wantsTable } from '../printers.ts';
import { createLogger } from '../../util/log.ts';

const log = createLogger('apiserver');

/**
 * handleWatch streams watch events, one JSON object per line over a chunked
 * response (apiserver `handlers/watch.go`). Without a resourceVersion (or with
 * "0") it first sends the current objects as ADDED; `sendInitialEvents=true`
 * adds the `k8s.io/initial-events-end` BOOKMARK after them. A resourceVersion
 * older than the store's history gets an in-stream ERROR event with a 410
 * Expired Status, then the stream closes, as the watch cache does.
 */
export async function handleWatch(ctx: Ctx, options: ListOptions): Promise<void> {
  const predicate = compilePredicate(ctx.def, options);
  if (options.sendInitialEvents === true && !options.allowWatchBookmarks) {
    throw apiErrors.unprocessable('ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set');
  }
  const rv = options.resourceVersion;
  if (rv !== undefined && !/^\d+$/.test(rv)) throw apiErrors.badRequest(`invalid resource version "${rv}"`);
  const prefix = ctx.registry.prefix(ctx.namespace);
  const initial = rv === undefined || rv === '0' || options.sendInitialEvents === true;
  let from = initial ? 0 : Number(rv);
  const initialObjects: KeyValue[] = [];
  if (initial) {
    const list = await ctx.registry.store.list(prefix);
    from = list.revision;
    for (const kv of list.items) {
      if (predicate(kv.value as KubeObject)) initialObjects.push(kv);
    }
  }
  const stream = new WatchStream(ctx, from, initial, options.labelSelector !== '' || options.fieldSelector !== '');
  for (const kv of initialObjects) stream.sendInitial(kv);
  if (options.sendInitialEvents === true) stream.bookmark(true);
  await stream.start(prefix, from, predicate, options);
}

class WatchStream {
  private readonly ctx: Ctx;
  private lastRevision: number;
  private closed = false;
  private watch: StoreWatch | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Keys of objects this client was sent and not told are gone, to turn selector exits into DELETED. */
  private readonly sent = new Set<string>();
  /** Whether the client's view is exactly what this stream sent (it started with the initial objects). */
  private readonly complete: boolean;
  private readonly table: boolean;
  /** Whether selectors filter this stream (only then is `sent` kept). */
  private readonly selective: boolean;

  constructor(ctx: Ctx, from: number, complete: boolean, selective: boolean) {
    this.ctx = ctx;
    this.lastRevision = from;
    this.complete = complete;
    this.selective = selective;
    this.table = wantsTable(ctx.req.headers.accept);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    ctx.res.flushHeaders();
    ctx.res.on('close', () => this.close());
  }

  send(type: string, object: unknown): boolean {
    if (this.closed) return true;
    return this.ctx.res.write(JSON.stringify({ type, object }) + '\n');
  }

  /** sendObject sends an object event, as a one-row Table when the client asked for Tables. */
  private sendObject(type: string, kv: { value: StoredValue; revision: number }): boolean {
    if (this.closed) return true;
    if (!this.table) return this.ctx.res.write(`{"type":"${type}","object":${this.ctx.registry.toJson(kv)}}\n`);
    const obj = this.ctx.registry.toObject(kv);
    return this.send(type, toTable(this.ctx.def.kind, [obj], { resourceVersion: obj.metadata?.resourceVersion }, this.ctx.query.get('includeObject') ?? 'Metadata', this.ctx.def.custom?.printer));
  }

  sendInitial(kv: KeyValue): void {
    if (this.selective) this.sent.add(kv.key);
    this.sendObject('ADDED', kv);
  }

  bookmark(initialEventsEnd = false): void {
    const revision = Math.max(this.lastRevision, this.watch?.progressRevision() ?? 0);
    const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
    if (initialEventsEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    this.send('BOOKMARK', { kind: this.ctx.def.kind, apiVersion: apiVersionOf(this.ctx.def), metadata });
  }

  private fail(error: ApiError): void {
    this.send('ERROR', error.status);
    this.close();
  }

  async start(prefix: string, from: number, predicate: (obj: KubeObject) => boolean, options: ListOptions): Promise<void> {
    try {
      const watch = await this.ctx.registry.store.watch(prefix, from, {
        onEvent: (event) => this.onEvent(event, predicate),
        onClose: (reason) => {
          log.info(4, 'Watch closed by store', { prefix, reason });
          // History gone under a live watch: tell the client to relist, as at watch start.
          if (isStoreError(reason, 'COMPACTED')) this.fail(apiErrors.expired(reason.message));
          // An object that cannot be served (a failed CRD conversion) ends the watch with kube's Status.
          else if (reason instanceof ApiError) this.fail(reason);
          else this.close();
        },
      });
      if (this.closed || this.ctx.res.destroyed) {
        this.close();
        watch.close();
        return;
      }
      this.watch = watch;
      this.ctx.res.on('drain', () => watch.resume());
    } catch (error) {
      if (isStoreError(error, 'COMPACTED')) return this.fail(apiErrors.expired((error as Error).message));
      if (isStoreError(error, 'FUTURE_REVISION')) return this.fail(apiErrors.timeout(`Too large resource version: ${from}, current: ${this.ctx.api.backend.currentRevision()}`));
      if (error instanceof ApiError) return this.fail(error);
      log.error('Watch failed', { prefix, error });
      return this.fail(apiErrors.unavailable(`watch failed: ${(error as Error).message}`));
    }
    if (options.allowWatchBookmarks) this.timers.push(setInterval(() => this.bookmark(), this.ctx.api.bookmarkIntervalMs));
    const timeoutMs = watchTimeoutMs(options.timeoutSeconds, this.ctx.api.minRequestTimeoutMs);
    if (timeoutMs > 0) this.timers.push(setTimeout(() => this.close(), timeoutMs));
  }

  /**
   * onEvent forwards a store event through the selectors. With selectors, an
   * object that stops matching is sent as DELETED (with its previous content
   * at the event's revision) and one that starts matching as ADDED, as the
   * watch cache's cacheWatcher does by testing the previous object too; where
   * the store no longer has it, what this stream sent stands in for it.
   */
  private onEvent(event: StoreEvent, predicate: (obj: KubeObject) => boolean): boolean {
    this.lastRevision = event.revision;
    const kv = { value: event.value, revision: event.revision };
    if (!this.selective) return this.sendObject(event.type, kv);
    const key = event.key;
    // Selectors read labels, names and fields, all present on the stored value.
    const matches = predicate(event.value as KubeObject);
    const prev = event.prevValue;
    const prevMatched = prev !== undefined && predicate(prev as KubeObject);
    const had = this.sent.has(key) || prevMatched;
    if (event.type === 'DELETED') {
      this.sent.delete(key);
      return matches || had ? this.sendObject('DELETED', kv) : true;
    }
    if (!matches) {
      if (!had) return true;
      this.sent.delete(key);
      return this.sendObject('DELETED', prevMatched ? { value: prev, revision: event.revision } : kv);
    }
    this.sent.add(key);
    const known = prev !== undefined || this.complete;
    const type = event.type === 'MODIFIED' && !had && known ? 'ADDED' : event.type;
    return this.sendObject(type, kv);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.watch?.close();
    this.ctx.res.end();
  }
}

/**
 * watchTimeoutMs is how long a watch runs, as kube-apiserver's ListResource:
 * the client's timeoutSeconds, else (absent or 0) --min-request-timeout
 * times a random factor in [1, 2); 0 is no end.
 */
export function watchTimeoutMs(timeoutSeconds: number | undefined, minRequestTimeoutMs: number, random = Math.random): number {
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) return timeoutSeconds * 1000;
  return minRequestTimeoutMs > 0 ? Math.floor(minRequestTimeoutMs * (1 + random())) : 0;
}
