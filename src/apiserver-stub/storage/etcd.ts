import { createRequire } from 'node:module';
import type { Etcd3, ICompare, IKeyValue, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import type * as Etcd3Module from 'etcd3';
import { InvalidArgumentError, getErrorMessage } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import type { Backend, KeyValue, ListOptions, ListResult, StoreEvent, StoreWatch, StoredValue, WatchHandlers } from './backend.ts';
import { DEFAULT_MAX_QUEUED, WatchQueue } from './broadcaster.ts';
import { encodedText } from './encoded-value.ts';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  StoreClosedError,
  StoreUnavailableError,
} from './errors.ts';

/** loadEtcd3 loads the etcd client (gRPC, protobufjs: ~0.2 s) only when the etcd store is used, not in every `ferry` process. */
const loadEtcd3 = (): typeof Etcd3Module => createRequire(import.meta.url)('etcd3') as typeof Etcd3Module;

const log = createLogger('store-etcd');

export interface EtcdBackendOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"] (kube-apiserver's --etcd-servers). */
  endpoints: readonly string[];
  /**
   * Every interval, compact etcd to the revision seen one interval earlier, as
   * kube-apiserver's --etcd-compaction-interval (default 5 minutes; 0 disables).
   */
  compactionIntervalMs?: number;
  /** Undelivered events a watcher may hold before it is dropped (default 10,000). */
  maxQueuedEvents?: number;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/**
 * EtcdBackend keeps objects in etcd under their `/registry/...` keys as JSON:
 * revision = etcd mod_revision, create = txn on create_revision == 0, update
 * and conditional delete = txn on mod_revision, lists read at a pinned etcd
 * revision, and each store watch is an etcd watch from fromRevision+1 with
 * prev_kv (so DELETED carries the last value). Several apiservers may share
 * one etcd. etcd's "required revision has been compacted" becomes
 * CompactedError; failures reaching etcd become StoreUnavailableError.
 */
export class EtcdBackend implements Backend {
  private readonly client: Etcd3;
  private readonly maxQueued: number;
  private readonly compactionIntervalMs: number;
  private revision = 0;
  private compacted = 0;
  private readonly watches = new Set<WatchQueue>();
  private compactor: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: EtcdBackendOptions) {
    if (options.endpoints.length === 0) throw new InvalidArgumentError('etcd store needs at least one endpoint');
    for (const url of options.endpoints) {
      if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new InvalidArgumentError(`invalid etcd endpoint "${url}" (want http://host:port)`);
    }
    this.client = new (loadEtcd3().Etcd3)({
      hosts: [...options.endpoints],
      dialTimeout: 5000,
      // An unpaginated list of 10,000 objects is several MB; gRPC's 4 MiB default
      // would fail it (kube-apiserver raises its etcd client limit the same way).
      grpcOptions: { 'grpc.max_receive_message_length': 2 ** 31 - 1 },
    });
    this.maxQueued = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED;
    this.compactionIntervalMs = options.compactionIntervalMs ?? 5 * 60_000;
  }

  async start(): Promise<void> {
    this.checkOpen();
    await this.call(() => this.client.kv.range({ key: utf8('/registry/'), limit: 1, keys_only: true }));
    if (this.compactionIntervalMs > 0) this.startCompactor();
  }

  currentRevision(): number {
    return this.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(() => this.client.kv.range({ key: utf8(key) }));
    return res.kvs[0] && toKeyValue(res.kvs[0]);
  }

  async create(key: string, value: StoredValue): Promise<KeyValue> {
    const res = await this.txn(
      [{ key: utf8(key), target: 'Create', result: 'Equal', create_revision: 0 }],
      [{ request_put: { key: utf8(key), value: utf8(encodedText(value)) } }],
    );
    if (!res.succeeded) throw new KeyExistsError(key);
    return { key, value, revision: Number(res.header.revision) };
  }

  async update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue> {
    const res = await this.txn(
      [{ key: utf8(key), target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
      [{ request_put: { key: utf8(key), value: utf8(encodedText(value)) } }],
    );
    if (!res.succeeded) throw this.preconditionFailure(key, expectedRevision, res);
    return { key, value, revision: Number(res.header.revision) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    const compare = expectedRevision === undefined
      ? { key: utf8(key), target: 'Create' as const, result: 'Greater' as const, create_revision: 0 }
      : { key: utf8(key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedRevision };
    const res = await this.txn([compare], [{ request_delete_range: { key: utf8(key), prev_kv: true } }]);
    if (!res.succeeded) throw this.preconditionFailure(key, expectedRevision, res);
    const prev = res.responses[0]?.response_delete_range.prev_kvs[0];
    if (!prev) throw new KeyNotFoundError(key);
    return { key, value: parseValue(prev), revision: Number(res.header.revision) };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const range = loadEtcd3().Range.prefix(prefix);
    const start = options.startAfter !== undefined && options.startAfter >= prefix ? utf8(options.startAfter + '\0') : range.start;
    const res = await this.call(
      () => this.client.kv.range({ key: start, range_end: range.end, limit: options.limit ?? 0, revision: options.revision ?? 0 }),
      options.revision,
    );
    const revision = options.revision || Number(res.header.revision);
    return { items: res.kvs.map(toKeyValue), revision, more: res.more };
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch> {
    // A read at fromRevision answers both "compacted?" and "future?" before etcd's watch would.
    if (fromRevision < this.compacted) throw new CompactedError(fromRevision, this.compacted);
    await this.call(() => this.client.kv.range({ key: utf8(prefix), limit: 1, keys_only: true, revision: fromRevision }), fromRevision);
    let watcher: Watcher | undefined;
    const queue = new WatchQueue(prefix, handlers, {
      maxQueued: this.maxQueued,
      fromRevision,
      onDetach: (q) => {
        this.watches.delete(q);
        watcher?.cancel().catch(() => {});
      },
    });
    this.watches.add(queue);
    try {
      watcher = await this.client.watch().prefix(prefix).startRevision(String(fromRevision + 1)).withPreviousKV().create();
    } catch (error) {
      queue.close();
      throw await this.watchError(fromRevision, error);
    }
    if (queue.isClosed) {
      // Closed (or dropped) while etcd was creating the watch.
      await watcher.cancel().catch(() => {});
      return queue;
    }
    watcher.on('data', (res) => {
      for (const event of res.events) queue.push(this.toEvent(event.type, event.kv, event.prev_kv));
      // An empty response is etcd's progress notification: nothing more up to its revision.
      if (res.events.length === 0) queue.noteProgress(Number(res.header.revision));
    });
    watcher.on('error', (error) => void this.watchFailed(queue, fromRevision, error));
    return queue;
  }

  async compact(revision: number): Promise<void> {
    const target = Math.min(revision, this.revision);
    if (target <= this.compacted) return;
    await this.call(() => this.client.kv.compact({ revision: target, physical: false }));
    this.compacted = target;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.compactor);
    for (const queue of [...this.watches]) queue.fail(new StoreClosedError());
    this.client.close();
  }

  private async txn(compare: ICompare[], success: IRequestOp[]): Promise<ITxnResponse> {
    const key = compare[0]!.key!;
    return this.call(() => this.client.kv.txn({ compare, success, failure: [{ request_range: { key } }] }));
  }

  // A failed txn: the failure branch read the key, telling "absent" from "other revision".
  private preconditionFailure(key: string, expected: number | undefined, res: ITxnResponse): Error {
    const current = res.responses[0]?.response_range.kvs[0];
    if (!current) return new KeyNotFoundError(key);
    return new ConflictError(key, expected ?? 0, Number(current.mod_revision));
  }

  // Runs an etcd call, tracks the revision from its header, and maps etcd errors to store errors.
  private async call<T extends { header: { revision: string } }>(run: () => Promise<T>, requested?: number): Promise<T> {
    this.checkOpen();
    try {
      const res = await run();
      this.revision = Math.max(this.revision, Number(res.header.revision));
      return res;
    } catch (error) {
      throw await this.mapError(error, requested ?? 0);
    }
  }

  private async mapError(error: unknown, requested: number): Promise<Error> {
    const message = getErrorMessage(error);
    if (message.includes('required revision has been compacted')) return new CompactedError(requested, await this.findCompactRevision(requested));
    if (message.includes('required revision is a future revision')) return new FutureRevisionError(requested, this.revision);
    if (this.closed) return new StoreClosedError();
    return new StoreUnavailableError(`etcd: ${message}`, { cause: error });
  }

  // etcd's error omits the compact revision; the oldest readable revision is found by
  // bisection (reads succeed at and after it). Only stale clients pay for it.
  private async findCompactRevision(requested: number): Promise<number> {
    let lo = Math.max(requested + 1, this.compacted);
    let hi = Math.max(lo, this.revision);
    try {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const ok = await this.client.kv.range({ key: utf8('/'), limit: 1, keys_only: true, revision: mid }).then(() => true, () => false);
        if (ok) hi = mid;
        else lo = mid + 1;
      }
    } catch {
      // Keep the bound found so far.
    }
    this.compacted = Math.max(this.compacted, lo);
    return lo;
  }

  private toEvent(type: 'Put' | 'Delete', kv: IKeyValue, prev: IKeyValue | undefined): StoreEvent {
    const revision = Number(kv.mod_revision);
    this.revision = Math.max(this.revision, revision);
    const key = kv.key.toString('utf8');
    if (type === 'Delete') return { type: 'DELETED', key, value: prev ? parseValue(prev) : {}, revision };
    if (kv.create_revision === kv.mod_revision) return { type: 'ADDED', key, value: parseValue(kv), revision };
    return { type: 'MODIFIED', key, value: parseValue(kv), revision, prevValue: prev ? parseValue(prev) : undefined };
  }

  private async watchFailed(queue: WatchQueue, fromRevision: number, error: Error): Promise<void> {
    if (queue.isClosed) return;
    const reason = await this.watchError(fromRevision, error);
    queue.fail(reason);
  }

  // etcd cancels a watch whose start revision was compacted away (after our
  // pre-check, or while the client reconnected); other failures are unavailability.
  private async watchError(fromRevision: number, error: unknown): Promise<Error> {
    if (this.closed) return new StoreClosedError();
    const message = getErrorMessage(error);
    if (/canceled/i.test(message)) return new CompactedError(fromRevision, await this.findCompactRevision(fromRevision));
    return new StoreUnavailableError(`etcd watch: ${message}`, { cause: error });
  }

  private startCompactor(): void {
    let previous = this.revision;
    this.compactor = setInterval(() => {
      const target = previous;
      previous = this.revision;
      this.compact(target).catch((error) => log.warn('etcd compaction failed', { revision: target, error: getErrorMessage(error) }));
    }, this.compactionIntervalMs);
    this.compactor.unref();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: parseValue(kv), revision: Number(kv.mod_revision) };
}

function parseValue(kv: IKeyValue): StoredValue {
  return JSON.parse(kv.value.toString('utf8')) as StoredValue;
}
