import { createLogger } from '../../util/log.ts';
import { getErrorMessage } from '../../util/errors.ts';
import { isConflict } from '../../client/errors.ts';
import { WorkQueue } from './workqueue.ts';

const log = createLogger('controller');

/** Requeue is returned by a reconcile that must look again later without it being a failure (stale cache). */
export interface Requeue {
  requeueAfterMs: number;
}

export type Reconcile = (key: string) => Promise<Requeue | void>;

/**
 * Controller runs a reconcile function over a work queue with a few
 * concurrent workers (never two on the same key). A reconcile that throws is
 * logged and its key retried with back-off; one that returns Requeue is
 * looked at again after the delay.
 */
export class Controller {
  readonly name: string;
  readonly queue = new WorkQueue();
  private readonly reconcile: Reconcile;
  private running: Promise<void>[] = [];

  constructor(name: string, reconcile: Reconcile) {
    this.name = name;
    this.reconcile = reconcile;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  run(workers: number): void {
    for (let i = 0; i < workers; i++) this.running.push(this.worker());
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const r = await this.reconcile(key);
        this.queue.forget(key);
        if (r) this.queue.addAfter(key, r.requeueAfterMs);
      } catch (error) {
        // A conflict only means the cache was behind a write: expected in level-triggered controllers.
        if (isConflict(error)) log.info(4, 'Conflict, will retry', { controller: this.name, key });
        else log.warn('Reconcile failed, will retry', { controller: this.name, key, err: getErrorMessage(error) });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
  }
}
