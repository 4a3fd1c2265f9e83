import { PassThrough } from 'node:stream';
import { DryRunProxier } from '../../../src/endpoints/dry-run-proxier.ts';
import type { Proxier, SyncResult } from '../../../src/endpoints/proxier.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';

// The proxier and wait of the ProxyLoop tests (proxy-loop.test.ts, and
// meta-proxier.test.ts with one per IP family).

/** FlakyProxier wraps the dry-run one, keeps the snapshots it synced and fails while `failing` is set. */
export class FlakyProxier implements Proxier {
  readonly mode = 'flaky';
  failing = false;
  readonly states: ProxyState[] = [];
  cleanups = 0;
  readonly inner = new DryRunProxier(new PassThrough().resume());
  async sync(state: ProxyState): Promise<SyncResult> {
    if (this.failing) return { ok: false, error: new Error('injected failure') };
    this.states.push(state);
    return this.inner.sync(state);
  }
  cleanup = async () => {
    this.cleanups++;
  };
  close = async () => {};
}

/** until polls a condition every 10 ms and throws, naming `what`, when it is not met within `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
