/**
 * ConnectionCounts tracks open proxied connections per endpoint (`ip:port`),
 * including connections to endpoints that were removed and are draining.
 * Metrics read it at scrape time, so the hot path is one map update.
 */
export class ConnectionCounts {
  private readonly open = new Map<string, number>();
  private total = 0;

  /** opened records a connection established to endpoint. */
  opened(endpoint: string): void {
    this.open.set(endpoint, (this.open.get(endpoint) ?? 0) + 1);
    this.total++;
  }

  /** closed records that a connection to endpoint ended; called once per opened(). */
  closed(endpoint: string): void {
    const n = (this.open.get(endpoint) ?? 1) - 1;
    if (n === 0) this.open.delete(endpoint);
    else this.open.set(endpoint, n);
    this.total--;
  }

  get(endpoint: string): number {
    return this.open.get(endpoint) ?? 0;
  }

  /** entries lists endpoints with at least one open connection. */
  entries(): IterableIterator<[string, number]> {
    return this.open.entries();
  }

  get size(): number {
    return this.total;
  }
}
