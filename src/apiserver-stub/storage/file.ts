import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, getErrorMessage } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import type { Backend, KeyValue, ListOptions, ListResult, StoreWatch, StoredValue, WatchHandlers } from './backend.ts';
import { StoreClosedError, UnencodableValueError } from './errors.ts';
import type { HistoryEntry, HistoryOptions } from './history.ts';
import { lockDataDir, unlockDataDir } from './lock.ts';
import { readSnapshot, removeFiles, scanDataDir, snapshotName, syncDir, walName, writeSnapshot } from './snapshot.ts';
import { RevisionedState, planWrite, type WriteOp } from './state.ts';
import { WalWriter, encodeRecord, readWal, replayEntry } from './wal.ts';

const log = createLogger('store-file');

export interface FileBackendOptions {
  /** Directory for snapshots and logs; created if missing. */
  dataDir: string;
  /** Start a new log and write a snapshot after this many writes (default 10,000). */
  snapshotEvery?: number;
  /** Watch history retention (default 10,000 events or 5 minutes). */
  history?: HistoryOptions;
  /** Undelivered events a watcher may hold before it is dropped (default 10,000). */
  maxQueuedEvents?: number;
}

interface QueuedWrite {
  readonly entry: HistoryEntry;
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * FileBackend is the default store: the in-memory revisioned state, made
 * durable by a write-ahead log plus periodic snapshots in `dataDir`.
 *
 * A write is checked and given its revision at once, then queued; one flush
 * loop appends everything queued with a single write + fdatasync (group
 * commit), and only then applies the batch to the state, broadcasts it and
 * resolves the callers. So reads and watches see durable writes only, and a
 * resolved write survives kill -9. Writes still in flight are tracked in
 * `inflight` so later writes are checked against them (a create after an
 * unflushed create of the same key is KeyExistsError).
 */
export class FileBackend implements Backend {
  private readonly dataDir: string;
  private readonly snapshotEvery: number;
  private readonly state: RevisionedState;
  private wal: WalWriter | undefined;
  // Newest not-yet-durable state of keys with writes in flight (undefined value: deleted).
  private readonly inflight = new Map<string, { kv: KeyValue | undefined; revision: number }>();
  private lastRevision = 0; // last revision handed out, durable or not
  private queue: QueuedWrite[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private snapshotting = false;
  private snapshotted: Promise<void> = Promise.resolve();
  private sinceSnapshot = 0;
  private phase: 'new' | 'open' | 'closed' = 'new';
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: FileBackendOptions) {
    if (!options.dataDir) throw new InvalidArgumentError('file store needs a dataDir');
    const every = options.snapshotEvery ?? 10_000;
    if (!Number.isSafeInteger(every) || every < 1) throw new InvalidArgumentError(`invalid snapshotEvery ${every}`);
    this.dataDir = options.dataDir;
    this.snapshotEvery = every;
    this.state = new RevisionedState(options);
  }

  /** start loads the newest snapshot, replays the logs after it (cutting a torn last record) and opens the log for appends. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new StoreClosedError('file store already started');
    await mkdir(this.dataDir, { recursive: true });
    await lockDataDir(this.dataDir);
    try {
      await this.load();
    } catch (error) {
      await unlockDataDir(this.dataDir);
      throw error;
    }
    this.phase = 'open';
  }

  currentRevision(): number {
    return this.state.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.state.get(key);
  }

  create(key: string, value: StoredValue): Promise<KeyValue> {
    return this.write({ op: 'create', key, value });
  }

  update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue> {
    return this.write({ op: 'update', key, value, expectedRevision });
  }

  delete(key: string, expectedRevision?: number): Promise<KeyValue> {
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

  /** close stops new calls, waits until queued writes are durable and a running snapshot ends, then releases the files. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    if (!wasOpen) return;
    while (this.flushing) await this.flushed;
    await this.snapshotted;
    await this.wal?.close().catch(() => {});
    this.state.closeWatchers(this.failure ?? new StoreClosedError());
    await unlockDataDir(this.dataDir);
  }

  private async load(): Promise<void> {
    const dir = this.dataDir;
    const files = await scanDataDir(dir);
    await removeFiles(dir, files.temporary);
    const base = files.snapshots.at(-1) ?? 0;
    if (files.snapshots.length > 0) this.state.load(await readSnapshot(dir, base), base);
    const wals = files.wals.filter((start) => start >= base);
    for (const [i, start] of wals.entries()) {
      const file = join(dir, walName(start));
      const { records, repaired } = await readWal(file, i === wals.length - 1);
      if (repaired) log.warn('cut a torn last record from the log', { file });
      for (const record of records) this.state.apply(replayEntry(record, this.state.get(record.key), file));
      this.sinceSnapshot += records.length;
    }
    await removeFiles(dir, [
      ...files.snapshots.filter((r) => r < base).map(snapshotName),
      ...files.wals.filter((r) => r < base).map(walName),
    ]);
    const active = wals.at(-1) ?? this.state.revision;
    this.wal = await WalWriter.open(join(dir, walName(active)));
    await syncDir(dir);
    this.lastRevision = this.state.revision;
    log.info(1, 'file store loaded', { dir, revision: this.state.revision, keys: this.state.size, replayed: this.sinceSnapshot });
  }

  private write(op: WriteOp): Promise<KeyValue> {
    try {
      this.checkOpen();
      const pending = this.inflight.get(op.key);
      const entry = planWrite(op, pending ? pending.kv : this.state.get(op.key), this.lastRevision + 1);
      // Encode before taking anything (revision, in-flight key): a value that cannot be
      // encoded fails this write alone and leaves no reserved name behind.
      const line = encodeStoredRecord(entry);
      const { type, key, value, revision } = entry.event;
      this.lastRevision = revision;
      const result: KeyValue = { key, value, revision };
      this.inflight.set(key, { kv: type === 'DELETED' ? undefined : result, revision });
      return new Promise((resolve, reject) => {
        this.queue.push({ entry, line, resolve: () => resolve(result), reject });
        this.kick();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.flushed = this.flushLoop();
  }

  // The group commit: everything queued while the previous fdatasync ran goes out in one append.
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.wal!.append(batch.map((w) => w.line).join(''));
        } catch (error) {
          this.fail(error, batch);
          return;
        }
        for (const w of batch) this.commit(w);
        this.sinceSnapshot += batch.length;
        if (this.sinceSnapshot >= this.snapshotEvery && !this.snapshotting) await this.rotate();
      }
    } finally {
      this.flushing = false;
    }
  }

  private commit(w: QueuedWrite): void {
    this.state.apply(w.entry);
    const { key, revision } = w.entry.event;
    if (this.inflight.get(key)?.revision === revision) this.inflight.delete(key);
    w.resolve();
  }

  // A failed append leaves the log's tail unknown: stop accepting writes (fail-stop),
  // reject everything not yet durable, and end the watches. Restart repairs the tail.
  private fail(error: unknown, batch: QueuedWrite[]): void {
    this.failure = new StoreClosedError(`file store stopped: log write failed: ${getErrorMessage(error)}`, { cause: error });
    log.error('log write failed; store stopped', { dir: this.dataDir, error: getErrorMessage(error) });
    for (const w of [...batch, ...this.queue]) w.reject(this.failure);
    this.queue = [];
    this.inflight.clear();
    this.state.closeWatchers(this.failure);
  }

  // Starts a new log at the current (durable) revision, then snapshots that revision in the background.
  private async rotate(): Promise<void> {
    const revision = this.state.revision;
    const items = this.state.items();
    const next = await WalWriter.open(join(this.dataDir, walName(revision)));
    await syncDir(this.dataDir);
    const previous = this.wal;
    this.wal = next;
    this.sinceSnapshot = 0;
    await previous?.close();
    this.snapshotting = true;
    this.snapshotted = this.snapshot(revision, items);
  }

  private async snapshot(revision: number, items: KeyValue[]): Promise<void> {
    try {
      await writeSnapshot(this.dataDir, revision, items);
      const files = await scanDataDir(this.dataDir);
      await removeFiles(this.dataDir, [
        ...files.snapshots.filter((r) => r < revision).map(snapshotName),
        ...files.wals.filter((r) => r < revision).map(walName),
      ]);
      log.info(2, 'snapshot written', { revision, keys: items.length });
    } catch (error) {
      // The logs still hold every write, so nothing is lost; the next rotation tries again.
      log.warn('snapshot failed', { revision, error: getErrorMessage(error) });
    } finally {
      this.snapshotting = false;
    }
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.phase !== 'open') throw new StoreClosedError(this.phase === 'new' ? 'file store not started' : 'store is closed');
  }
}

function encodeStoredRecord(entry: HistoryEntry): string {
  try {
    return encodeRecord(entry);
  } catch (error) {
    throw new UnencodableValueError(entry.event.key, getErrorMessage(error));
  }
}
