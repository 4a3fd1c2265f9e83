/**
 * Backend is the revision-aware store under the compact apiserver, in kine's
 * shape: every write bumps one monotonic revision, which the REST layer uses as
 * the objects' resourceVersion. Values are JSON objects exactly as the REST
 * layer wants them kept (metadata.resourceVersion is not stored; readers stamp
 * it from `revision`).
 *
 * Keys are `/registry/<resource>/<namespace>/<name>` (cluster-scoped:
 * `/registry/<resource>/<name>`), as kube-apiserver lays them out in etcd.
 * List and watch prefixes should end in `/` (`/registry/services/ns1/`), or
 * `ns1` would also match `ns10`.
 *
 * Values are shared, not copied, by the memory and file stores: never mutate
 * a value after handing it to a write, nor a value read back (copy it first,
 * e.g. to stamp metadata.resourceVersion).
 *
 * Errors (src/apiserver-stub/storage/errors.ts, all StoreError with a stable
 * `code`): KeyExistsError, KeyNotFoundError, ConflictError, CompactedError,
 * FutureRevisionError, StoreClosedError, StoreUnavailableError (etcd
 * unreachable), SlowWatcherError (only via onClose).
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
  /** For MODIFIED, the value it replaced, where the store still has it (a selector watch needs it, as the watch cache's PrevObject). */
  readonly prevValue?: StoredValue | undefined;
}

export interface ListOptions {
  /** At most this many items; 0 or undefined means all. */
  limit?: number;
  /** Resume strictly after this key (from a continue token). */
  startAfter?: string;
  /**
   * Read as of this revision (a continue token pins one); 0 or undefined means
   * current. Older than the retained history: CompactedError; newer than the
   * store: FutureRevisionError.
   */
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
  /**
   * A revision this watcher has caught up to: every event under its prefix at
   * or below it has been handed to onEvent. Use it as a BOOKMARK's
   * resourceVersion, never currentRevision(), which may be ahead of events
   * still queued for this watcher (a client resuming from it would skip them).
   */
  progressRevision(): number;
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
   * Called once when the store drops this watcher (SlowWatcherError,
   * StoreClosedError, CompactedError or StoreUnavailableError from etcd).
   * The watcher delivers nothing after it. Not called after close().
   */
  onClose(reason: Error): void;
}

export interface Backend {
  /** Loads or connects; resolves when reads and writes may start. */
  start(): Promise<void>;
  /**
   * The newest revision this store has made visible (for etcd: the newest
   * seen in any response or event). 0 for an empty memory/file store.
   */
  currentRevision(): number;
  /** Reads one key at the current revision. Reads only ever see acknowledged (durable) writes. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Creates key; rejects with KeyExistsError if present. Resolves after the write is durable. */
  create(key: string, value: StoredValue): Promise<KeyValue>;
  /**
   * Replaces key if its current revision is `expectedRevision`; rejects with
   * ConflictError otherwise and KeyNotFoundError if absent. Always writes (a
   * new revision even if the value is unchanged).
   */
  update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue>;
  /**
   * Deletes key (if `expectedRevision` is given, only at that revision, else
   * ConflictError); KeyNotFoundError if absent. Resolves to the last value with
   * `revision` = the revision of the delete (as the DELETED event carries).
   */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /**
   * Lists keys under prefix in key order (JavaScript string order; etcd's
   * byte order agrees for ASCII keys), strictly after `startAfter`, at most
   * `limit`, read at `revision` (default current). Rejects with CompactedError
   * for a compacted revision, FutureRevisionError for one not reached yet.
   */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /**
   * Watches keys under prefix for events with revision > fromRevision: first
   * the retained history after fromRevision, then live events, in revision
   * order, with no gap and no duplicate. Rejects with CompactedError if
   * fromRevision is older than the retained history, FutureRevisionError if
   * newer than the store. A watcher may later be ended by onClose (store
   * closed, slow consumer, etcd failure); the client then resumes from the
   * last revision it got, or relists on CompactedError.
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch>;
  /**
   * Forgets history at or below revision (clamped to the current one); reads
   * and watches from older revisions then get CompactedError. The memory and
   * file stores also forget on their own (history bound), etcd's compactor
   * every 5 minutes.
   */
  compact(revision: number): Promise<void>;
  /** Flushes queued writes and releases files or connections; ends watches with StoreClosedError; idempotent. */
  close(): Promise<void>;
}
