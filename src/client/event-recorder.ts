import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import type { ApiClient } from './api-client.ts';
import { isNotFound } from './errors.ts';
import { resources } from './resources.ts';

const log = createLogger('events');

/**
 * EventRecorder writes core/v1 Events as client-go's recorder does
 * (`tools/record`: `event.go`, `events_cache.go`): an event repeated for the
 * same object, reason and message is one Event whose count and
 * lastTimestamp grow (a PATCH), and more than 10 different messages for the
 * same object and reason within 10 minutes are combined into one Event
 * "(combined from similar events): …". Writes happen in the background, in
 * order; a failure is logged and never reaches the caller.
 */

/** The object an event is about (an ObjectReference). */
export interface InvolvedObject {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
  fieldPath?: string | undefined;
}

export type EventType = 'Normal' | 'Warning';

/** Kube's limits: the aggregator's window and how many distinct messages it lets through first. */
export const AGGREGATE_WINDOW_MS = 600_000;
export const AGGREGATE_MAX_EVENTS = 10;
const CACHE_SIZE = 4096;

interface Logged {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

interface Aggregate {
  messages: Set<string>;
  lastMs: number;
}

/** involvedOf builds the reference of an API object for an event. */
export function involvedOf(obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } }, kind?: string, apiVersion?: string): InvolvedObject {
  const m = obj.metadata ?? {};
  return { kind: kind ?? obj.kind ?? '', apiVersion: apiVersion ?? obj.apiVersion ?? '', name: m.name ?? '', namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
}

const stamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** Bounded map dropping the oldest entry (client-go uses an LRU of 4096). */
function remember<V>(m: Map<string, V>, key: string, v: V): void {
  m.delete(key);
  m.set(key, v);
  if (m.size > CACHE_SIZE) m.delete(m.keys().next().value!);
}

export class EventRecorder {
  private readonly client: ApiClient;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly now: () => Date;
  private readonly logged = new Map<string, Logged>();
  private readonly aggregates = new Map<string, Aggregate>();
  private tail: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(client: ApiClient, source: { component: string; host?: string }, now: () => Date = () => new Date()) {
    this.client = client;
    this.component = source.component;
    this.host = source.host;
    this.now = now;
  }

  /** event records that something happened to the object; it returns at once. */
  event(involved: InvolvedObject, type: EventType, reason: string, message: string): void {
    const at = this.now();
    const { key, text } = this.aggregate(involved, type, reason, message, at.getTime());
    this.tail = this.tail.then(() => this.write(key, involved, type, reason, text, at)).catch((error: unknown) => {
      log.warn('Cannot record event', { reason, object: `${involved.kind}/${involved.namespace ?? ''}/${involved.name}`, err: getErrorMessage(error) });
    });
  }

  /** flush waits for the events recorded so far to be written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.tail;
  }

  /** aggregate is client-go's EventAggregator: past the limit, similar events share one key and a combined message. */
  private aggregate(o: InvolvedObject, type: string, reason: string, message: string, nowMs: number): { key: string; text: string } {
    const similar = [this.component, this.host ?? '', o.kind, o.namespace ?? '', o.name, o.uid ?? '', o.apiVersion, type, reason].join('\u0000');
    let agg = this.aggregates.get(similar);
    if (!agg || nowMs - agg.lastMs > AGGREGATE_WINDOW_MS) agg = { messages: new Set(), lastMs: nowMs };
    agg.messages.add(message);
    agg.lastMs = nowMs;
    remember(this.aggregates, similar, agg);
    if (agg.messages.size < AGGREGATE_MAX_EVENTS) return { key: `${similar}\u0000${message}`, text: message };
    return { key: similar, text: `(combined from similar events): ${message}` };
  }

  /** write is client-go's EventLogger and recordToSink: patch the count of a known event, else create it. */
  private async write(key: string, o: InvolvedObject, type: EventType, reason: string, message: string, at: Date): Promise<void> {
    const namespace = o.namespace || 'default';
    const known = this.logged.get(key);
    if (known) {
      known.count++;
      try {
        await this.client.patch(resources.events, known.name, { count: known.count, lastTimestamp: stamp(at), message }, 'merge', { namespace: known.namespace });
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    // client-go names events <object>.<unix nanoseconds in hex>.
    const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const entry: Logged = { name: `${o.name}.${nanos.toString(16)}`, namespace, count: known?.count ?? 1, firstTimestamp: known?.firstTimestamp ?? stamp(at) };
    remember(this.logged, key, entry);
    await this.client.create(resources.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: entry.name, namespace },
      involvedObject: o,
      reason,
      message,
      type,
      count: entry.count,
      firstTimestamp: entry.firstTimestamp,
      lastTimestamp: stamp(at),
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    } as never, { namespace });
  }
}
