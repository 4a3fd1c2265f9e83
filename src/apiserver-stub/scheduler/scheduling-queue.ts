/**
 * SchedulingQueue is kube-scheduler's queue reduced to what a lab needs: an
 * active FIFO of pod keys (each at most once), the pods found unschedulable
 * (waiting for the cluster to change) and pods backing off after a failed
 * bind. moveAllToActive is called on cluster events (a node added or
 * changed, a pod gone) and on a periodic flush.
 */
export class SchedulingQueue {
  private readonly active: string[] = [];
  private readonly inActive = new Set<string>();
  private readonly unschedulable = new Set<string>();
  private readonly backoff = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private waiter: (() => void) | undefined;
  private closed = false;

  add(key: string): void {
    if (this.closed || this.inActive.has(key) || this.backoff.has(key)) return;
    this.unschedulable.delete(key);
    this.inActive.add(key);
    this.active.push(key);
    this.wake();
  }

  /** pop returns the next key, waiting for one; undefined once closed. */
  async pop(): Promise<string | undefined> {
    while (this.active.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const key = this.active.shift()!;
    this.inActive.delete(key);
    return key;
  }

  markUnschedulable(key: string): void {
    if (!this.closed) this.unschedulable.add(key);
  }

  /** backOff re-adds a key after 1 s doubling to 10 s per attempt (kube's podInitialBackoff / podMaxBackoff). */
  backOff(key: string): void {
    if (this.closed || this.backoff.has(key)) return;
    const n = this.attempts.get(key) ?? 0;
    this.attempts.set(key, n + 1);
    this.backoff.set(key, setTimeout(() => {
      this.backoff.delete(key);
      this.add(key);
    }, Math.min(10_000, 1000 * 2 ** n)));
  }

  /** forget drops every trace of a pod (bound, or deleted). */
  forget(key: string): void {
    this.unschedulable.delete(key);
    this.attempts.delete(key);
    const t = this.backoff.get(key);
    if (t) clearTimeout(t);
    this.backoff.delete(key);
  }

  moveAllToActive(): void {
    const keys = [...this.unschedulable];
    this.unschedulable.clear();
    for (const k of keys) this.add(k);
  }

  isUnschedulable(key: string): boolean {
    return this.unschedulable.has(key);
  }

  get pendingUnschedulable(): number {
    return this.unschedulable.size;
  }

  close(): void {
    this.closed = true;
    for (const t of this.backoff.values()) clearTimeout(t);
    this.backoff.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
