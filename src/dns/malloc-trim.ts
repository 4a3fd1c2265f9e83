import type { DnsController } from './controller.ts';
import { libcLibrary } from '../util/libc.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns');
const PERIOD_MS = 30_000;

/**
 * MallocTrimmer hands back to the system the memory glibc's malloc keeps
 * after Node freed it. Buffers live in malloc's heap (the informers' list
 * pages, the packets between the UDP worker and this thread), and glibc
 * only returns free space at the top of a heap: after the initial lists of
 * 10,000 services and 50,000 pods, 10-25 MB stayed resident for good.
 * malloc_trim returns every free page, in about a millisecond. It runs
 * once the informers have synced and then every 30 s. Where it cannot be
 * loaded (not glibc) nothing happens.
 */
export class MallocTrimmer {
  readonly #timers: NodeJS.Timeout[] = [];
  #trim: (() => void) | undefined;

  constructor(controller: DnsController) {
    try {
      const mallocTrim = libcLibrary().func('int malloc_trim(size_t)') as (pad: number) => number;
      this.#trim = () => void mallocTrim(0);
    } catch (error) {
      log.info(2, 'No malloc_trim; freed memory stays with malloc', { err: getErrorMessage(error) });
      return;
    }
    let synced = false;
    controller.onChange(() => {
      if (synced || !controller.hasSynced()) return;
      synced = true;
      this.#timers.push(setTimeout(() => this.#trim?.()).unref());
    });
    this.#timers.push(setInterval(() => this.#trim?.(), PERIOD_MS).unref());
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#trim = undefined;
  }
}
