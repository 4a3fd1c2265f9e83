/**
 * RangeAllocator hands out integers in [0, size) (offsets into a CIDR or a
 * port range). Dynamic picks start above a low "static" band kept for
 * requested values, and only fall into it when the rest is full, as
 * kube-apiserver's bitmap allocator with `calculateRangeOffset`.
 */
export class RangeAllocator {
  readonly size: number;
  private readonly staticBand: number;
  private readonly used = new Set<number>();
  private next: number;

  constructor(size: number, staticBand: number) {
    this.size = size;
    this.staticBand = Math.min(staticBand, size);
    this.next = this.staticBand;
  }

  has(offset: number): boolean {
    return this.used.has(offset);
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
    for (let i = 0; i < dynamic; i++) {
      const offset = this.staticBand + ((this.next - this.staticBand + i) % dynamic);
      if (!this.used.has(offset)) {
        this.used.add(offset);
        this.next = offset + 1 >= this.size ? this.staticBand : offset + 1;
        return offset;
      }
    }
    for (let offset = 0; offset < this.staticBand; offset++) if (this.take(offset)) return offset;
    return undefined;
  }

  get free(): number {
    return this.size - this.used.size;
  }
}

/** staticBandSize is kube's `min(max(16, size/16), 256)`. */
export function staticBandSize(size: number): number {
  return Math.min(Math.max(16, Math.floor(size / 16)), 256);
}
