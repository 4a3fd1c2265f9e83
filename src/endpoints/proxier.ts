import type { IPFamily } from './node-port-addresses.ts';
import type { ProxyState } from './proxy-state.ts';

/**
 * SyncResult is the outcome of one sync: data, not an exception, so the
 * SyncRunner can count failures and schedule a retry without try/catch at
 * every backend boundary.
 */
export type SyncResult =
  | {
      ok: true;
      /** Whether every rule was rewritten (first sync, periodic, or after a failure). */
      full: boolean;
      /** Backend-specific counts for logs and metrics, e.g. `{ natRules: 1200 }`. */
      stats?: Record<string, number>;
    }
  | { ok: false; error: Error };

/**
 * Proxier is the contract of each proxy backend (iptables, ipvs, userspace,
 * dry-run). The SyncRunner calls `sync` with a fresh snapshot; a failed sync
 * is retried, and a backend must make its next sync after a failure a full one.
 * Calls never overlap.
 */
export interface Proxier {
  readonly mode: string;
  /**
   * The IP families whose snapshots it syncs, primary first (a MetaProxier
   * has two on a dual-stack node); undefined: IPv4 only.
   */
  readonly ipFamilies?: readonly IPFamily[];
  sync(state: ProxyState): Promise<SyncResult>;
  /** Removes everything this backend ever installed; safe to run twice and on a clean node. */
  cleanup(): Promise<void>;
  /** Releases sockets and listeners without removing rules; idempotent. */
  close(): Promise<void>;
}
