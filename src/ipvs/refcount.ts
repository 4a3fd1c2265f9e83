/**
 * RefCount counts how many service ports need a kernel object (an address on
 * kube-ipvs0, an ipset entry): several ports of one service share their
 * cluster IP, so an address goes only when its last user goes. `drain()`
 * hands over the objects that appeared (0 → 1) and disappeared (1 → 0)
 * since the last drain, which is exactly what the kernel must be told.
 */
export class RefCount<K> {
  private readonly counts = new Map<K, number>();
  private readonly appeared = new Set<K>();
  private readonly vanished = new Set<K>();

  /** add counts a user of k; true when it is k's first. */
  add(k: K): boolean {
    const n = this.counts.get(k) ?? 0;
    this.counts.set(k, n + 1);
    if (n > 0) return false;
    if (!this.vanished.delete(k)) this.appeared.add(k);
    return true;
  }

  /** remove uncounts a user of k; true when it was k's last. */
  remove(k: K): boolean {
    const n = this.counts.get(k) ?? 0;
    if (n === 0) return false;
    if (n > 1) {
      this.counts.set(k, n - 1);
      return false;
    }
    this.counts.delete(k);
    if (!this.appeared.delete(k)) this.vanished.add(k);
    return true;
  }

  has(k: K): boolean {
    return this.counts.has(k);
  }

  keys(): IterableIterator<K> {
    return this.counts.keys();
  }

  get size(): number {
    return this.counts.size;
  }

  /** drain returns and forgets the changes since the last drain. */
  drain(): { appeared: K[]; vanished: K[] } {
    const out = { appeared: [...this.appeared], vanished: [...this.vanished] };
    this.appeared.clear();
    this.vanished.clear();
    return out;
  }
}
