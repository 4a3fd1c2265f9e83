import { setTimeout as sleep } from 'node:timers/promises';

/**
 * until polls `get` every `pollMs` until it returns something truthy, and
 * rejects after `ms` naming what it waited for and the last error `get` threw.
 */
export async function until<T>(what: string, get: () => Promise<T | undefined | false>, ms = 20_000, pollMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await get();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
