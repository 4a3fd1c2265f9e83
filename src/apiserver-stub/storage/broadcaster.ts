import type { StoreEvent, StoreWatch, WatchHandlers } from './backend.ts';
import { SlowWatcherError } from './errors.ts';

/** DEFAULT_MAX_QUEUED is how many undelivered events a watcher may hold before it is dropped. */
export const DEFAULT_MAX_QUEUED = 10_000;

/**
 * WatchQueue is one watcher's bounded event queue. Events are pushed by the
 * store and delivered to the handlers on a later turn of the event loop (never
 * inside push or inside the store's watch() call), in push order. When the
 * handler returns false delivery pauses until resume(); when more than
 * `maxQueued` events wait while paused, the watcher is dropped with onClose(SlowWatcherError)
 * instead of buffering without bound, as kine's broadcaster drops slow consumers.
 */
export class WatchQueue implements StoreWatch {
  readonly prefix: string;
  private readonly handlers: WatchHandlers;
  private readonly maxQueued: number;
  private readonly onDetach: (queue: WatchQueue) => void;
  private readonly caughtUp: (() => number) | undefined;
  // Revision of the last event handed to onEvent (at first: the watch's start).
  private delivered: number;
  // Pending events live in queue[head..]; head avoids O(n) shift().
  private queue: StoreEvent[] = [];
  private head = 0;
  private paused = false;
  private scheduled = false;
  private closed = false;

  /**
   * `fromRevision` is where the watch starts. `caughtUp`, when given, returns a
   * revision up to which every event for this watcher has already been pushed
   * (the in-process stores push synchronously as they apply), so an empty
   * queue means the watcher is caught up to it.
   */
  constructor(
    prefix: string,
    handlers: WatchHandlers,
    options: { maxQueued: number; fromRevision: number; caughtUp?: () => number; onDetach: (queue: WatchQueue) => void },
  ) {
    this.prefix = prefix;
    this.handlers = handlers;
    this.maxQueued = options.maxQueued;
    this.onDetach = options.onDetach;
    this.caughtUp = options.caughtUp;
    this.delivered = options.fromRevision;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** push queues an event for delivery; events for other prefixes must be filtered by the caller. */
  push(event: StoreEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    // Only a paused watcher (its sink said "full") can be slow: an unpaused one
    // drains on the next turn however large a burst of writes was.
    if (this.paused) this.dropIfBehind();
    else this.schedule();
  }

  progressRevision(): number {
    if (this.head < this.queue.length || !this.caughtUp) return this.delivered;
    return Math.max(this.delivered, this.caughtUp());
  }

  /** noteProgress records that the source has sent everything up to `revision` (etcd progress notifications). */
  noteProgress(revision: number): void {
    if (this.head === this.queue.length) this.delivered = Math.max(this.delivered, revision);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.onDetach(this);
  }

  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.schedule();
  }

  /** fail closes the watcher and tells the handler why (store closed, slow, upstream error). */
  fail(reason: Error): void {
    if (this.closed) return;
    this.close();
    this.handlers.onClose(reason);
  }

  private dropIfBehind(): void {
    const queued = this.queue.length - this.head;
    if (queued > this.maxQueued) this.fail(new SlowWatcherError(queued));
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    while (!this.closed && !this.paused && this.head < this.queue.length) {
      const event = this.queue[this.head++]!;
      this.delivered = event.revision;
      try {
        if (this.handlers.onEvent(event) === false) this.paused = true;
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
    if (this.paused) this.dropIfBehind();
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }
}

/**
 * Broadcaster fans store events out to watchers by key prefix. Watchers are
 * grouped by prefix so an event costs one startsWith per distinct prefix plus
 * one push per interested watcher.
 */
export class Broadcaster {
  private readonly maxQueued: number;
  private readonly byPrefix = new Map<string, Set<WatchQueue>>();

  constructor(maxQueued = DEFAULT_MAX_QUEUED) {
    this.maxQueued = maxQueued;
  }

  get size(): number {
    let n = 0;
    for (const set of this.byPrefix.values()) n += set.size;
    return n;
  }

  /**
   * subscribe registers a watcher from `fromRevision` and queues `backlog`
   * (already filtered to the prefix, in revision order) ahead of any later
   * publish. `caughtUp` is the source's revision, see WatchQueue.
   */
  subscribe(prefix: string, handlers: WatchHandlers, backlog: readonly StoreEvent[], fromRevision = 0, caughtUp?: () => number): WatchQueue {
    const queue = new WatchQueue(prefix, handlers, { maxQueued: this.maxQueued, fromRevision, caughtUp, onDetach: (q) => this.detach(q) });
    let set = this.byPrefix.get(prefix);
    if (!set) this.byPrefix.set(prefix, (set = new Set()));
    set.add(queue);
    for (const event of backlog) queue.push(event);
    return queue;
  }

  publish(event: StoreEvent): void {
    for (const [prefix, set] of this.byPrefix) {
      if (!event.key.startsWith(prefix)) continue;
      for (const queue of set) queue.push(event);
    }
  }

  /** closeAll drops every watcher with `reason` (store closing or failing). */
  closeAll(reason: Error): void {
    for (const set of [...this.byPrefix.values()]) for (const queue of [...set]) queue.fail(reason);
  }

  private detach(queue: WatchQueue): void {
    const set = this.byPrefix.get(queue.prefix);
    if (!set) return;
    set.delete(queue);
    if (set.size === 0) this.byPrefix.delete(queue.prefix);
  }
}
