import type { Backend } from './backend.ts';
import { UnknownBackendError } from './errors.ts';
import type { HistoryOptions } from './history.ts';
import { EtcdBackend } from './etcd.ts';
import { FileBackend } from './file.ts';
import { MemoryBackend } from './memory.ts';

/** BackendOptions carries what any driver may need; each driver validates its own fields. */
export interface BackendOptions {
  /** file: directory for snapshots and logs (kube-apiserver-like `--data-dir`). */
  dataDir?: string;
  /** file: start a new log and snapshot after this many writes. */
  snapshotEvery?: number;
  /** etcd: client URLs (kube-apiserver's `--etcd-servers`). */
  etcdServers?: readonly string[];
  /** etcd: compaction interval in ms (default 5 minutes; 0 disables). */
  etcdCompactionIntervalMs?: number;
  /** Watch history retention for the memory and file stores. */
  history?: HistoryOptions;
  /** Undelivered events a watcher may hold before it is dropped. */
  maxQueuedEvents?: number;
}

/** BackendFactory builds an unstarted backend; it throws InvalidArgumentError for bad options. */
export type BackendFactory = (options: BackendOptions) => Backend;

// Drivers by kind, as kine's drivers/registry.go keys them by scheme.
const factories = new Map<string, BackendFactory>([
  ['memory', (options) => new MemoryBackend(options)],
  ['file', (options) => new FileBackend({ ...options, dataDir: options.dataDir ?? '' })],
  [
    'etcd',
    (options) =>
      new EtcdBackend({
        endpoints: options.etcdServers ?? [],
        compactionIntervalMs: options.etcdCompactionIntervalMs,
        maxQueuedEvents: options.maxQueuedEvents,
      }),
  ],
]);

/** registerBackend adds (or replaces) the driver for `kind`. */
export function registerBackend(kind: string, factory: BackendFactory): void {
  factories.set(kind, factory);
}

/** backendKinds lists the registered kinds, for flag help and errors. */
export function backendKinds(): string[] {
  return [...factories.keys()];
}

/** createBackend builds the backend for `kind` (call start() before use); unknown kinds throw UnknownBackendError. */
export function createBackend(kind: string, options: BackendOptions = {}): Backend {
  const factory = factories.get(kind);
  if (!factory) throw new UnknownBackendError(kind, backendKinds());
  return factory(options);
}
