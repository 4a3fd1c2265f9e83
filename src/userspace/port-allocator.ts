import { PortRangeExhaustedError } from './errors.ts';

/**
 * PortAllocator hands out proxy ports from `--proxy-port-range`, or port 0
 * (kernel-chosen ephemeral port) when no range is set. Like the old
 * kube-proxy's allocator it walks the range from a random start so restarts
 * do not reuse the same ports first; ports found busy at listen time are
 * skipped by asking for the next one.
 */
export class PortAllocator {
  private readonly range: readonly [number, number] | undefined;
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(range: readonly [number, number] | undefined) {
    this.range = range;
    this.cursor = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)) : 0;
  }

  /** next reserves a port (0 means "let the kernel choose"); throws PortRangeExhaustedError when the range is full. */
  next(): number {
    if (!this.range) return 0;
    const [lo, hi] = this.range;
    const size = hi - lo + 1;
    for (let i = 0; i < size; i++) {
      const port = lo + ((this.cursor - lo + i) % size);
      if (!this.used.has(port)) {
        this.used.add(port);
        this.cursor = port + 1 > hi ? lo : port + 1;
        return port;
      }
    }
    throw new PortRangeExhaustedError(this.range);
  }

  /** release returns a port to the range (no-op for 0 or ports outside the range). */
  release(port: number): void {
    this.used.delete(port);
  }

  /** attempts bounds how many ports a caller tries before giving up on busy ones. */
  get attempts(): number {
    return this.range ? Math.min(16, this.range[1] - this.range[0] + 1) : 1;
  }
}
