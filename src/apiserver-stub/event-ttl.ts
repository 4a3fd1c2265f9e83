import type { Registry } from './registry.ts';
import type { Backend } from './storage/backend.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('apiserver');

/** kube-apiserver's `--event-ttl` default. */
export const DEFAULT_EVENT_TTL_MS = 3_600_000;

interface EventTimes {
  metadata?: { creationTimestamp?: string };
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

/** lastWrittenMs is when an event last happened: its newest timestamp (kube's etcd lease restarts on each write). */
export function lastWrittenMs(ev: EventTimes): number {
  const times = [ev.lastTimestamp, ev.eventTime, ev.series?.lastObservedTime, ev.metadata?.creationTimestamp].map((t) => (t ? Date.parse(t) : NaN)).filter(Number.isFinite);
  return times.length > 0 ? Math.max(...times) : 0;
}

/**
 * EventExpiry deletes Events `ttlMs` after they last happened, as
 * kube-apiserver stores them under an etcd lease of `--event-ttl`. It sweeps
 * every tenth of the TTL (at most once a minute), so an event lives at most
 * 10 % longer than asked.
 */
export class EventExpiry {
  private timer: NodeJS.Timeout | undefined;
  private readonly backend: Backend;
  private readonly events: Registry;
  private readonly ttlMs: number;

  constructor(backend: Backend, events: Registry, ttlMs: number) {
    this.backend = backend;
    this.events = events;
    this.ttlMs = ttlMs;
  }

  start(): void {
    if (this.ttlMs <= 0) return;
    this.timer = setInterval(() => void this.sweep().catch((error: unknown) => log.warn('Event expiry failed', { error })), Math.min(60_000, Math.max(100, this.ttlMs / 10)));
    this.timer.unref();
  }

  /** sweep deletes the expired events and returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    const list = await this.backend.list(this.events.prefix());
    let n = 0;
    for (const kv of list.items) {
      if (lastWrittenMs(this.events.toObject(kv) as EventTimes) + this.ttlMs > now) continue;
      try {
        await this.backend.delete(kv.key, kv.revision);
        n++;
      } catch {
        // Written again meanwhile: it lives on.
      }
    }
    return n;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
