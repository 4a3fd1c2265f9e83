import { InvalidArgumentError } from '../util/errors.ts';
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';

export interface SyncRunnerOptions {
  /**
   * The sync; resolves true on success. It must not throw (a throw counts as
   * a failure). `periodic` is true for the first run and for the runs
   * --sync-period brings without any request, false for requested runs and
   * retries.
   */
  readonly fn: (periodic: boolean) => Promise<boolean>;
  /** `--min-sync-period`: runs start at least this far apart. */
  readonly minIntervalMs: number;
  /** `--sync-period`: a run happens at least this often even without requests. */
  readonly maxIntervalMs: number;
  /** Delay before retrying a failed run (default maxIntervalMs, as kube-proxy's RetryAfter(syncPeriod)). */
  readonly retryIntervalMs?: number;
  readonly clock?: Clock;
}

/**
 * SyncRunner is kube-proxy's bounded-frequency runner: `run()` asks for a
 * sync, and requests arriving while one runs or within `minIntervalMs` of the
 * last start are coalesced into one later run. Runs never overlap. Nothing
 * runs before `start()` (the proxy calls it once Services and EndpointSlices
 * have both synced); requests made earlier are served by the first run.
 */
export class SyncRunner {
  readonly #fn: (periodic: boolean) => Promise<boolean>;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #retryMs: number;
  readonly #clock: Clock;
  #started = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** A run was requested while one was in progress. */
  #requested = false;
  #lastStart = -Infinity;
  #nextAt: number | undefined;
  /** The pending run is a periodic one (see SyncRunnerOptions.fn). */
  #nextPeriodic = false;
  #timer: unknown;

  constructor(options: SyncRunnerOptions) {
    if (!(options.minIntervalMs >= 0)) throw new InvalidArgumentError('invalid minIntervalMs: must be >= 0');
    if (!(options.maxIntervalMs > 0) || options.maxIntervalMs < options.minIntervalMs) throw new InvalidArgumentError('invalid maxIntervalMs: must be > 0 and >= minIntervalMs');
    this.#fn = options.fn;
    this.#minMs = options.minIntervalMs;
    this.#maxMs = options.maxIntervalMs;
    this.#retryMs = options.retryIntervalMs ?? options.maxIntervalMs;
    this.#clock = options.clock ?? realClock;
  }

  /** start allows runs and schedules the first one now; idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule(this.#clock.now(), true);
  }

  /** run requests a sync as soon as min-sync-period allows. */
  run(): void {
    if (this.#stopped) return;
    if (!this.#started || this.#running) {
      this.#requested = true;
      return;
    }
    this.#schedule(Math.max(this.#clock.now(), this.#lastStart + this.#minMs), false);
  }

  /** stop cancels scheduled runs and waits for a running one; idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Keeps the earliest pending run: a later request never delays an earlier one. */
  #schedule(at: number, periodic: boolean): void {
    if (this.#stopped || (this.#nextAt !== undefined && this.#nextAt <= at)) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#nextAt = at;
    this.#nextPeriodic = periodic;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      this.#nextAt = undefined;
      this.#running = this.#execute(this.#nextPeriodic);
    }, Math.max(0, at - this.#clock.now()));
  }

  async #execute(periodic: boolean): Promise<void> {
    this.#lastStart = this.#clock.now();
    this.#requested = false;
    let ok: boolean;
    try {
      ok = await this.#fn(periodic);
    } catch {
      ok = false;
    }
    this.#running = undefined;
    if (this.#stopped) return;
    const earliest = this.#lastStart + this.#minMs;
    if (this.#requested) this.#schedule(Math.max(this.#clock.now(), earliest), false);
    else if (!ok) this.#schedule(Math.max(this.#clock.now() + this.#retryMs, earliest), false);
    this.#schedule(this.#lastStart + this.#maxMs, true);
  }
}
