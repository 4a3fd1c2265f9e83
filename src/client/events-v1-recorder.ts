import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import type { ApiClient } from './api-client.ts';
import { isNotFound } from './errors.ts';
import type { EventType, InvolvedObject } from './event-recorder.ts';
import type { ResourceRef } from './resources.ts';

const log = createLogger('events');

/** events.k8s.io/v1, the API client-go's new recorder writes (kube-scheduler's). */
export const EVENTS_V1: ResourceRef = { group: 'events.k8s.io', version: 'v1', resource: 'events', namespaced: true };

/** client-go's `events` package: an isomorphic event seen again within this window joins the series. */
export const SERIES_WINDOW_MS = 6 * 60_000;
const CACHE_SIZE = 4096;

interface Known {
  name: string;
  namespace: string;
  count: number;
  lastMs: number;
}

/** MicroTime as kube writes it: RFC 3339 with six fractional digits. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * EventsV1Recorder writes events.k8s.io/v1 Events as client-go's new
 * recorder (`tools/events`): each names its reporting controller and
 * instance and an action; the same event again within 6 minutes becomes a
 * series (`series.count` from 2, `series.lastObservedTime`) on the first
 * Event rather than a new one. Writes are in order, in the background.
 */
export class EventsV1Recorder {
  private readonly client: ApiClient;
  private readonly controller: string;
  private readonly instance: string;
  private readonly now: () => Date;
  private readonly known = new Map<string, Known>();
  private tail: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(client: ApiClient, reporting: { controller: string; instance: string }, now: () => Date = () => new Date()) {
    this.client = client;
    this.controller = reporting.controller;
    this.instance = reporting.instance;
    this.now = now;
  }

  event(regarding: InvolvedObject, type: EventType, reason: string, action: string, note: string): void {
    const at = this.now();
    this.tail = this.tail.then(() => this.write(regarding, type, reason, action, note, at)).catch((error: unknown) => {
      log.warn('Cannot record event', { reason, object: `${regarding.kind}/${regarding.namespace ?? ''}/${regarding.name}`, err: getErrorMessage(error) });
    });
  }

  async flush(): Promise<void> {
    await this.tail;
  }

  private async write(regarding: InvolvedObject, type: EventType, reason: string, action: string, note: string, at: Date): Promise<void> {
    const namespace = regarding.namespace || 'default';
    const key = [regarding.kind, regarding.namespace ?? '', regarding.name, regarding.uid ?? '', type, reason, action, note].join('\u0000');
    const known = this.known.get(key);
    if (known && at.getTime() - known.lastMs <= SERIES_WINDOW_MS) {
      known.count++;
      known.lastMs = at.getTime();
      try {
        await this.client.patch(EVENTS_V1, known.name, { series: { count: known.count, lastObservedTime: microTime(at) } }, 'merge', { namespace: known.namespace });
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const entry: Known = { name: `${regarding.name}.${nanos.toString(16)}`, namespace, count: 1, lastMs: at.getTime() };
    this.known.delete(key);
    this.known.set(key, entry);
    if (this.known.size > CACHE_SIZE) this.known.delete(this.known.keys().next().value!);
    await this.client.create(EVENTS_V1, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: entry.name, namespace },
      eventTime: microTime(at),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action,
      reason,
      regarding,
      note,
      type,
    } as never, { namespace });
  }
}
