/**
 * Backoff is a jittered exponential back-off: each `next()` doubles the
 * base delay up to `maxMs` and returns a random delay in [base/2, base], so
 * many watchers cut at once do not come back in lockstep. `reset()` after a
 * success starts again from `initialMs`.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #baseMs: number;

  constructor(options: { initialMs: number; maxMs: number; random?: () => number }) {
    this.#initialMs = options.initialMs;
    this.#maxMs = options.maxMs;
    this.#random = options.random ?? Math.random;
    this.#baseMs = options.initialMs;
  }

  next(): number {
    const base = this.#baseMs;
    this.#baseMs = Math.min(this.#maxMs, base * 2);
    return Math.round(base / 2 + (this.#random() * base) / 2);
  }

  reset(): void {
    this.#baseMs = this.#initialMs;
  }
}
