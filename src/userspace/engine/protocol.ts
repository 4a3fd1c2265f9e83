/**
 * Messages between the main thread (TcpEngine) and its engine threads. The
 * main thread posts on a MessagePort and then writes the thread's eventfd:
 * a thread blocks in epoll_wait, not in Node's event loop, so it takes its
 * messages with receiveMessageOnPort when the eventfd wakes it.
 */
export type ToEngine =
  /** listen: accept from the listening socket `fd` (shared by every thread that got it). */
  | { readonly type: 'listen'; readonly key: string; readonly fd: number; readonly endpoints: readonly string[]; readonly affinityMs: number }
  | { readonly type: 'update'; readonly key: string; readonly endpoints: readonly string[]; readonly affinityMs: number }
  /** unlisten: stop accepting from key's socket; answered with `released`, after which the main thread may close it. */
  | { readonly type: 'unlisten'; readonly key: string }
  | { readonly type: 'stop' };

/** EngineReport: counters since a thread's last report, and its open connections per endpoint now. */
export interface EngineReport {
  readonly type: 'report';
  readonly accepted: Record<string, number>;
  readonly dialFailures: Record<string, number>;
  readonly noEndpoint: Record<string, number>;
  readonly open: Record<string, number>;
}

export type FromEngine =
  | EngineReport
  | { readonly type: 'released'; readonly key: string }
  /** error: an unexpected exception in the loop (it kept running). */
  | { readonly type: 'error'; readonly message: string };

/** EngineThreadData is the workerData of an engine thread. */
export interface EngineThreadData {
  readonly index: number;
  readonly wakeFd: number;
  readonly port: import('node:worker_threads').MessagePort;
  /** The thread's descriptor ledger (./ledger.ts). */
  readonly ledger: SharedArrayBuffer;
}

/**
 * DIAL_TIMEOUTS_MS are the old kube-proxy's `tryConnect` timeouts: each
 * failed dial moves to the next endpoint with a longer timeout, so a dead
 * pod costs a client one fast retry instead of an error.
 */
export const DIAL_TIMEOUTS_MS = [250, 500, 1000, 2000] as const;
