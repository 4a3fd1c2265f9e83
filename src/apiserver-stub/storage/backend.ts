/**
 * Backend is the revision-aware store under the compact apiserver, in kine's
 * shape: every write bumps one monotonic revision, which the REST layer uses as
 * the objects' resourceVersion. Values are JSON objects exactly as the REST
 * layer wants them kept (metadata.resourceVersion is not stored; readers stamp
 * it from `revision`).
 *
 * Keys are `/registry/<resource>/<namespace>/<name>` (cluster-scoped:
 * `/registry/<resource>/<name>`), as kube-apiserver lays them out in etcd.
 */
export type StoredValue = Record<string, unknown>;

export interface KeyValue {
  readonly key: string;
  readonly value: StoredValue;
  /** Revision of the write that produced this value (its resourceVersion). */
  readonly revision: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly key: string;
  /** The new value; for DELETED, the last value before deletion. */
  readonly value: StoredValue;
  /** Revision of this event (for DELETED, the revision of the delete). */
  readonly revision: number;
}

export interface ListOptions {
  /** At most this many items; 0 or undefined means all. */
  limit?: number;
  /** Resume strictly after this key (from a continue token). */
  startAfter?: string;
  /** Read as of this revision (a continue token pins one); default: current. */
  revision?: number;
}

export interface ListResult {
  readonly items: readonly KeyValue[];
  /** The revision the list was read at. */
  readonly revision: number;
  /** Whether more items follow the last one returned. */
  readonly more: boolean;
}

/** Watcher delivers events in revision order until closed. */
export interface StoreWatch {
  /** Stops delivery; idempotent. onClose is not called for a close the caller asked for. */
  close(): void;
  /** Resumes delivery paused by onEvent returning false (call it on the sink's 'drain'). */
  resume(): void;
}

export interface WatchHandlers {
  /**
   * Receives events in revision order, never synchronously inside watch() and
   * never before watch() has resolved. Returning false (as `stream.write` does
   * when its buffer is full) pauses delivery until resume(); events queue
   * meanwhile and a watcher whose queue passes the store's bound is dropped
   * with onClose(SlowWatcherError). A handler that throws is closed with that error.
   */
  onEvent(event: StoreEvent): void | boolean;
  /**
   * Called once when the store drops this watcher (slow consumer, store closed).
   * The watcher delivers nothing after it.
   */
  onClose(reason: Error): void;
}

export interface Backend {
  /** Loads or connects; resolves when reads and writes may start. */
  start(): Promise<void>;
  currentRevision(): number;
  get(key: string): Promise<KeyValue | undefined>;
  /** Creates key; rejects with KeyExistsError if present. Resolves after the write is durable. */
  create(key: string, value: StoredValue): Promise<KeyValue>;
  /**
   * Replaces key if its current revision is `expectedRevision`; rejects with
   * ConflictError otherwise and KeyNotFoundError if absent.
   */
  update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue>;
  /** Deletes key (if `expectedRevision` is given, only at that revision); resolves to the deleted value. */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /** Lists keys under prefix in key order. Rejects with CompactedError for a compacted revision. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /**
   * Watches keys under prefix for events with revision > fromRevision.
   * Throws CompactedError synchronously-or-rejected if fromRevision is older
   * than the oldest retained history.
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch>;
  /** Forgets history at or below revision; later watches from there get CompactedError. */
  compact(revision: number): Promise<void>;
  /** Flushes and releases files or connections; idempotent. */
  close(): Promise<void>;
}
