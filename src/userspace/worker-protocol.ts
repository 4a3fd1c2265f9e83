/**
 * Messages between the userspace primary process and its TCP workers (over
 * the fork IPC channel). `share` carries the listening server as the
 * message's handle; the worker then accepts from the same socket.
 */
export type ToWorker =
  | { readonly type: 'share'; readonly key: string; readonly endpoints: readonly string[] }
  | { readonly type: 'endpoints'; readonly key: string; readonly endpoints: readonly string[] }
  | { readonly type: 'unshare'; readonly key: string };

/** WorkerReport is what a worker sends once a second: counters since its last report, and gauges. */
export interface WorkerReport {
  readonly type: 'report';
  readonly accepted: Record<string, number>;
  readonly dialFailures: Record<string, number>;
  readonly noEndpoint: Record<string, number>;
  /** Open connections per endpoint now. */
  readonly open: Record<string, number>;
}

/** WorkerReady: the worker's message handler is installed; messages sent before it would be lost. */
export interface WorkerReady {
  readonly type: 'ready';
}

export type FromWorker = WorkerReport | WorkerReady;
