import type { KeyValue, StoreEvent } from './backend.ts';

/** HistoryEntry is one applied write: the event plus the key's state before it. */
export interface HistoryEntry {
  readonly event: StoreEvent;
  /** The key's value before this write; undefined for ADDED. */
  readonly prev: KeyValue | undefined;
}

export interface HistoryOptions {
  /** Keep at most this many events (default 10,000). */
  maxEvents?: number;
  /** Also forget events older than this (default 5 minutes, etcd's usual compaction window). */
  maxAgeMs?: number;
  /** Clock in ms; a seam for tests. */
  now?: () => number;
}

export const DEFAULT_HISTORY_EVENTS = 10_000;
export const DEFAULT_HISTORY_AGE_MS = 5 * 60_000;

/**
 * HistoryRing keeps the most recent writes in revision order for watch resume
 * and for reads at a past revision. Every event with revision > compactRevision
 * is retained, so a watch or read from any revision >= compactRevision can be
 * served; older ones get CompactedError.
 */
export class HistoryRing {
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  // Retained entries are entries[head..], stamps[head..] their append times.
  private entries: HistoryEntry[] = [];
  private stamps: number[] = [];
  private head = 0;
  private compacted: number;

  constructor(startRevision: number, options: HistoryOptions = {}) {
    this.maxEvents = options.maxEvents ?? DEFAULT_HISTORY_EVENTS;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_HISTORY_AGE_MS;
    this.now = options.now ?? Date.now;
    this.compacted = startRevision;
  }

  get compactRevision(): number {
    this.expire();
    return this.compacted;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  append(entry: HistoryEntry): void {
    this.entries.push(entry);
    this.stamps.push(this.now());
    while (this.length > this.maxEvents) this.dropOldest();
    this.expire();
  }

  /** compact forgets every event at or below `revision`. */
  compact(revision: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.event.revision <= revision) this.dropOldest();
    if (revision > this.compacted) this.compacted = revision;
    this.reclaim();
  }

  /** since returns retained entries with revision > `revision`, oldest first. Caller checks compactRevision first. */
  since(revision: number): HistoryEntry[] {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.event.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.entries.slice(lo);
  }

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (this.head < this.entries.length && this.stamps[this.head]! < cutoff) this.dropOldest();
    this.reclaim();
  }

  private dropOldest(): void {
    this.compacted = this.entries[this.head]!.event.revision;
    this.head++;
  }

  // Reclaims the dropped prefix once it is half the array, keeping appends amortised O(1).
  private reclaim(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
  }
}
