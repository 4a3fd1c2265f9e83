import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * IdleCollector gives memory back when the apiserver goes quiet (issue 19).
 * V8 keeps the heap it grew under load (after a 20,000-request fuzz run,
 * 196 MB resident against 55 MB at the start) and shrinks it only slowly;
 * `--optimize-for-size` shrinks it but made 3 MiB writes twice as slow. So
 * once the event loop has been nearly idle for a whole period, and the
 * resident size has grown since the last collection, one full collection
 * runs: it costs tens of milliseconds when nothing waits for them.
 */
export class IdleCollector {
  readonly #timer: NodeJS.Timeout;
  #last = performance.eventLoopUtilization();
  #rssAfterGc = process.memoryUsage.rss();

  constructor(periodMs = 10_000) {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    this.#timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, this.#last).utilization;
      this.#last = now;
      if (busy > 0.05 || process.memoryUsage.rss() < this.#rssAfterGc * 1.25) return;
      gc();
      this.#rssAfterGc = process.memoryUsage.rss();
    }, periodMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
