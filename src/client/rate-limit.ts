/**
 * RequestLimits are client-go's rate limits for a client (rest.Config QPS
 * and Burst) and CoreDNS's `apiserver_max_inflight` (a cap on requests
 * waiting for their response headers). 0 or absent: no limit.
 */
export interface RequestLimits {
  readonly qps?: number;
  readonly burst?: number;
  readonly maxInflight?: number;
}

/**
 * RequestLimiter hands out permission to send a request: a token from a
 * bucket of `burst` tokens refilled at `qps` per second (client-go's token
 * bucket; burst defaults to 1), and a place among `maxInflight` requests in
 * flight, given back once the response headers arrive. Waiters are served
 * in order.
 */
export class RequestLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #maxInflight: number;
  #tokens: number;
  #refilledAt = performance.now();
  #inflight = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limits: RequestLimits) {
    this.#qps = limits.qps ?? 0;
    this.#burst = Math.max(1, limits.burst ?? 0);
    this.#maxInflight = limits.maxInflight ?? 0;
    this.#tokens = this.#burst;
  }

  /** acquire waits for a token and a place in flight; call the returned function when the response headers are in. */
  async acquire(): Promise<() => void> {
    if (this.#qps > 0) await this.#token();
    if (this.#maxInflight > 0) {
      if (this.#inflight >= this.#maxInflight) await new Promise<void>((resolve) => this.#waiting.push(resolve));
      else this.#inflight++;
    }
    let released = false;
    return () => {
      if (released || this.#maxInflight <= 0) return;
      released = true;
      const next = this.#waiting.shift();
      // The place passes straight to the next waiter, so the count stays.
      if (next) next();
      else this.#inflight--;
    };
  }

  /** #token takes a token, going into debt when there is none (golang.org/x/time/rate's reservations): the debt is waited out. */
  async #token(): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#qps);
    this.#refilledAt = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    await new Promise((r) => setTimeout(r, (-this.#tokens / this.#qps) * 1000));
  }

}
