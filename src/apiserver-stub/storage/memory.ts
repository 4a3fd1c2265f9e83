import type { Backend, KeyValue, ListOptions, ListResult, StoreWatch, StoredValue, WatchHandlers } from './backend.ts';
import { StoreClosedError } from './errors.ts';
import type { HistoryOptions } from './history.ts';
import { RevisionedState, planWrite, type WriteOp } from './state.ts';

export interface MemoryBackendOptions {
  /** Watch history retention (default 10,000 events or 5 minutes). */
  history?: HistoryOptions;
  /** Undelivered events a watcher may hold before it is dropped (default 10,000). */
  maxQueuedEvents?: number;
}

/**
 * MemoryBackend keeps everything in process memory (kine's memory driver):
 * for tests and throwaway servers. Writes are applied synchronously, so a
 * resolved write is already visible to reads and queued for watchers.
 */
export class MemoryBackend implements Backend {
  private readonly state: RevisionedState;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.state = new RevisionedState(options);
  }

  async start(): Promise<void> {
    this.checkOpen();
  }

  currentRevision(): number {
    return this.state.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.state.get(key);
  }

  async create(key: string, value: StoredValue): Promise<KeyValue> {
    return this.write({ op: 'create', key, value });
  }

  async update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue> {
    return this.write({ op: 'update', key, value, expectedRevision });
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.write({ op: 'delete', key, expectedRevision });
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    this.checkOpen();
    return this.state.list(prefix, options);
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch> {
    this.checkOpen();
    return this.state.watch(prefix, fromRevision, handlers);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    this.state.compact(revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state.closeWatchers(new StoreClosedError());
  }

  private write(op: WriteOp): KeyValue {
    this.checkOpen();
    const entry = planWrite(op, this.state.get(op.key), this.state.revision + 1);
    this.state.apply(entry);
    const { key, value, revision } = entry.event;
    return { key, value, revision };
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
