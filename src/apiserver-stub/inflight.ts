import type { IncomingMessage } from 'node:http';

/**
 * InflightLimits are kube-apiserver's `--max-requests-inflight` (read-only
 * requests, default 400) and `--max-mutating-requests-inflight` (writes,
 * default 200). Long-running requests (watches, logs) and health checks are
 * not counted, as in kube; 0 turns a limit off.
 */
export interface InflightLimits {
  readonly maxRequestsInflight: number;
  readonly maxMutatingRequestsInflight: number;
}

export const defaultInflightLimits: InflightLimits = { maxRequestsInflight: 400, maxMutatingRequestsInflight: 200 };

const exempt = /^\/(healthz|livez|readyz|version)(\/|$)/;

/** InflightLimiter admits a request while its pool has room; the caller answers 429 otherwise. */
export class InflightLimiter {
  readonly #limits: InflightLimits;
  #readOnly = 0;
  #mutating = 0;

  constructor(limits: InflightLimits) {
    this.#limits = limits;
  }

  /** enter returns a release function, `'exempt'` for requests outside the pools, or undefined when the pool is full. */
  enter(req: IncomingMessage, url: URL): (() => void) | 'exempt' | undefined {
    if (exempt.test(url.pathname) || isLongRunning(req, url)) return 'exempt';
    const mutating = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    const limit = mutating ? this.#limits.maxMutatingRequestsInflight : this.#limits.maxRequestsInflight;
    const current = mutating ? this.#mutating : this.#readOnly;
    if (limit > 0 && current >= limit) return undefined;
    if (mutating) this.#mutating++;
    else this.#readOnly++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (mutating) this.#mutating--;
      else this.#readOnly--;
    };
  }
}

function isLongRunning(req: IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET') return false;
  const watch = url.searchParams.get('watch');
  return watch === 'true' || watch === '1' || url.pathname.endsWith('/log');
}
