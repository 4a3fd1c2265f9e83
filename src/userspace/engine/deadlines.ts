/**
 * DeadlineQueue holds timeouts that all have the same length, so they expire
 * in the order they were added: a FIFO is a priority queue here. The engine
 * keeps one per dial timeout. Entries are not removed when their dial ends
 * early: the expiry callback tells stale ones from live ones.
 */
export class DeadlineQueue<T> {
  private readonly timeoutMs: number;
  private entries: Array<{ at: number; item: T }> = [];
  private head = 0;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  add(item: T, now: number): void {
    this.entries.push({ at: now + this.timeoutMs, item });
  }

  /** next is when the oldest entry expires (stale ones included), or Infinity. */
  next(): number {
    return this.head < this.entries.length ? this.entries[this.head]!.at : Infinity;
  }

  /** expire hands each entry due by `now` to onExpired and drops it. */
  expire(now: number, onExpired: (item: T) => void): void {
    while (this.head < this.entries.length && this.entries[this.head]!.at <= now) {
      const { item } = this.entries[this.head]!;
      this.head++;
      onExpired(item);
    }
    if (this.head === 0) return;
    if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
