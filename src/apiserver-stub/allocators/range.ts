/**
 * RangeAllocator hands out integers in [0, size) (offsets into a CIDR or a
 * port range). Dynamic picks start at a random offset above a low "static"
 * band kept for requested values, and only fall into it when the rest is
 * full, as kube-apiserver's bitmap allocator with `calculateRangeOffset`.
 * Random starts also keep apiserver replicas sharing one etcd from picking
 * the same value before they see each other's writes.
 */
export class RangeAllocator {
  readonly size: number;
  private readonly staticBand: number;
  private readonly used = new Set<number>();

  constructor(size: number, staticBand: number) {
    this.size = size;
    this.staticBand = Math.min(staticBand, size);
  }

  /** take marks offset used; false when it is outside the range or taken. */
  take(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size || this.used.has(offset)) return false;
    this.used.add(offset);
    return true;
  }

  release(offset: number): void {
    this.used.delete(offset);
  }

  /** allocate takes a free offset, or undefined when the range is full. */
  allocate(): number | undefined {
    const dynamic = this.size - this.staticBand;
    const start = Math.floor(Math.random() * dynamic);
    for (let i = 0; i < dynamic; i++) {
      const offset = this.staticBand + ((start + i) % dynamic);
      if (this.take(offset)) return offset;
    }
    for (let offset = 0; offset < this.staticBand; offset++) if (this.take(offset)) return offset;
    return undefined;
  }
}

/** staticBandSize is kube's `min(max(16, size/16), 256)`. */
export function staticBandSize(size: number): number {
  return Math.min(Math.max(16, Math.floor(size / 16)), 256);
}
