import type { KeyValue, ListOptions, ListResult, StoreEvent, StoreWatch, StoredValue, WatchHandlers } from './backend.ts';
import { Broadcaster } from './broadcaster.ts';
import { CompactedError, ConflictError, FutureRevisionError, KeyExistsError, KeyNotFoundError } from './errors.ts';
import { HistoryRing, type HistoryEntry, type HistoryOptions } from './history.ts';

/** WriteOp is one requested write, before the store checks it and gives it a revision. */
export type WriteOp =
  | { readonly op: 'create'; readonly key: string; readonly value: StoredValue }
  | { readonly op: 'update'; readonly key: string; readonly value: StoredValue; readonly expectedRevision: number }
  | { readonly op: 'delete'; readonly key: string; readonly expectedRevision?: number | undefined };

/**
 * planWrite checks `op` against the key's `current` state and returns the
 * write it becomes at `revision`, or throws KeyExistsError, KeyNotFoundError
 * or ConflictError. Pure: the caller applies the result.
 */
export function planWrite(op: WriteOp, current: KeyValue | undefined, revision: number): HistoryEntry {
  const { key } = op;
  if (op.op === 'create') {
    if (current) throw new KeyExistsError(key);
    return { event: { type: 'ADDED', key, value: op.value, revision }, prev: undefined };
  }
  if (!current) throw new KeyNotFoundError(key);
  if (op.expectedRevision !== undefined && op.expectedRevision !== current.revision) {
    throw new ConflictError(key, op.expectedRevision, current.revision);
  }
  if (op.op === 'update') return { event: { type: 'MODIFIED', key, value: op.value, revision, prevValue: current.value }, prev: current };
  return { event: { type: 'DELETED', key, value: current.value, revision }, prev: current };
}

export interface StateOptions {
  /** Revision of the loaded state (0 for an empty store). */
  startRevision?: number;
  history?: HistoryOptions;
  /** Undelivered events a watcher may hold before it is dropped. */
  maxQueuedEvents?: number;
}

/**
 * RevisionedState is the in-memory revisioned store shared by the memory and
 * file backends: current values in a Map plus a sorted key array (binary
 * search for prefix lists, no sort per call), the recent write history, and
 * the watch broadcaster. Every method is synchronous, so a watch registers and
 * takes its backlog atomically with respect to writes.
 *
 * Values are kept by reference: callers must not mutate a value after handing
 * it to apply(), nor mutate values they read back.
 */
export class RevisionedState {
  private readonly values = new Map<string, KeyValue>();
  // Every key of `values`, sorted by UTF-16 code units (JavaScript's < on strings).
  private keys: string[] = [];
  private rev: number;
  private readonly history: HistoryRing;
  private readonly broadcaster: Broadcaster;

  constructor(options: StateOptions = {}) {
    this.rev = options.startRevision ?? 0;
    this.history = new HistoryRing(this.rev, options.history);
    this.broadcaster = new Broadcaster(options.maxQueuedEvents);
  }

  get revision(): number {
    return this.rev;
  }

  get size(): number {
    return this.values.size;
  }

  get watcherCount(): number {
    return this.broadcaster.size;
  }

  get compactRevision(): number {
    return this.history.compactRevision;
  }

  get(key: string): KeyValue | undefined {
    return this.values.get(key);
  }

  /** load replaces the state with a snapshot taken at `revision` (start-up only: no events). */
  load(items: readonly KeyValue[], revision: number): void {
    this.values.clear();
    for (const item of items) this.values.set(item.key, item);
    this.keys = [...this.values.keys()].sort(compareKeys);
    this.rev = revision;
    this.history.compact(revision);
  }

  /** apply makes a planned write current, records it and broadcasts it. Its revision must exceed the current one. */
  apply(entry: HistoryEntry): void {
    const { event } = entry;
    if (event.revision <= this.rev) throw new Error(`revision ${event.revision} not after ${this.rev}`);
    if (event.type === 'DELETED') {
      this.values.delete(event.key);
      const i = lowerBound(this.keys, event.key);
      if (this.keys[i] === event.key) this.keys.splice(i, 1);
    } else {
      if (!this.values.has(event.key)) this.keys.splice(lowerBound(this.keys, event.key), 0, event.key);
      this.values.set(event.key, { key: event.key, value: event.value, revision: event.revision });
    }
    this.rev = event.revision;
    this.history.append(entry);
    this.broadcaster.publish(event);
  }

  /** list reads keys under `prefix` in key order, at the current or a retained past revision. */
  list(prefix: string, options: ListOptions = {}): ListResult {
    const at = options.revision || this.rev;
    this.checkReadable(at);
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const after = options.startAfter !== undefined && options.startAfter >= prefix ? options.startAfter : undefined;
    const overlay = at < this.rev ? this.overlayAt(at, prefix, after) : undefined;
    const items: KeyValue[] = [];
    for (const item of this.iterate(prefix, after, overlay)) {
      if (items.length === limit) return { items, revision: at, more: true };
      items.push(item);
    }
    return { items, revision: at, more: false };
  }

  /** watch subscribes to events under `prefix` with revision > `fromRevision`, replaying retained history first. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StoreWatch {
    this.checkReadable(fromRevision);
    const backlog: StoreEvent[] = [];
    for (const { event } of this.history.since(fromRevision)) if (event.key.startsWith(prefix)) backlog.push(event);
    return this.broadcaster.subscribe(prefix, handlers, backlog, fromRevision, () => this.rev);
  }

  /** compact forgets history at or below `revision` (clamped to the current revision). */
  compact(revision: number): void {
    this.history.compact(Math.min(revision, this.rev));
  }

  /** items returns every current value in key order (for snapshots); O(n), values shared. */
  items(): KeyValue[] {
    return this.keys.map((key) => this.values.get(key)!);
  }

  /** closeWatchers drops every watcher with `reason`. */
  closeWatchers(reason: Error): void {
    this.broadcaster.closeAll(reason);
  }

  private checkReadable(revision: number): void {
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    const compacted = this.history.compactRevision;
    if (revision < compacted) throw new CompactedError(revision, compacted);
  }

  // State at `revision` of the keys under prefix (and after `after`) written since:
  // the `prev` of each key's first later write. Keys absent then map to undefined.
  private overlayAt(revision: number, prefix: string, after: string | undefined): Map<string, KeyValue | undefined> {
    const overlay = new Map<string, KeyValue | undefined>();
    for (const { event, prev } of this.history.since(revision)) {
      const { key } = event;
      if (!key.startsWith(prefix) || (after !== undefined && key <= after) || overlay.has(key)) continue;
      overlay.set(key, prev);
    }
    return overlay;
  }

  // Yields values under prefix after `after` in key order, current keys merged with the overlay.
  private *iterate(prefix: string, after: string | undefined, overlay?: Map<string, KeyValue | undefined>): Generator<KeyValue> {
    let i = lowerBound(this.keys, after ?? prefix);
    if (after !== undefined && this.keys[i] === after) i++;
    const extra = overlay ? [...overlay.keys()].sort(compareKeys) : [];
    let j = 0;
    for (;;) {
      const current = i < this.keys.length && this.keys[i]!.startsWith(prefix) ? this.keys[i]! : undefined;
      const past = j < extra.length ? extra[j]! : undefined;
      if (current === undefined && past === undefined) return;
      if (past !== undefined && (current === undefined || past <= current)) {
        if (past === current) i++;
        j++;
        const value = overlay!.get(past);
        if (value) yield value;
        continue;
      }
      i++;
      yield this.values.get(current!)!;
    }
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** lowerBound returns the first index whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
