import { write } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Proxier, SyncResult } from './proxier.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { ProxyState } from './proxy-state.ts';

/** proxyStateToJSON renders a snapshot as plain JSON (maps become objects, sets arrays), keys sorted. */
export function proxyStateToJSON(state: ProxyState): Record<string, unknown> {
  const sorted = <V>(m: ReadonlyMap<string, V>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    nodeName: state.nodeName,
    nodeLabels: state.nodeLabels,
    services: sorted(state.services),
    endpoints: sorted(state.endpoints),
    changed: [...state.changed].sort(),
    udpConntrack: {
      deletedEndpoints: state.udpConntrack.deletedEndpoints,
      newlyActiveServices: [...state.udpConntrack.newlyActiveServices].sort(),
      deletedClusterIPs: [...(state.udpConntrack.deletedClusterIPs ?? [])].sort(),
    },
    triggerTimes: sorted(state.triggerTimes),
  };
}

/** LineSink is where dry-run lines go: a stream (tests), or a file descriptor written directly (stdout). */
export type LineSink = Writable | { readonly fd: number };

/**
 * DryRunProxier is the `dry-run` mode: it changes nothing in the kernel and
 * writes each synced ProxyState as one JSON line, so the watcher can be
 * tested without a backend and users see what a proxy would program. A
 * failed write (ENOSPC, EPIPE) fails that sync, which the runner retries and
 * counts, as a failed rule apply would; it never ends the process. So stdout
 * is written by descriptor, not through process.stdout, whose stream emits
 * an 'error' event that kills the process and stays broken after one.
 */
export class DryRunProxier implements Proxier {
  readonly mode = 'dry-run';
  readonly #out: LineSink;
  #needFull = true;

  constructor(out: LineSink) {
    this.#out = out;
    // A stream's own 'error' event must not end the process: the write's callback reports it.
    if (!('fd' in out)) out.on('error', () => {});
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const full = this.#needFull;
    const line = JSON.stringify({ full, ...proxyStateToJSON(state) }) + '\n';
    try {
      if ('fd' in this.#out) await writeAll(this.#out.fd, Buffer.from(line));
      else await writeStream(this.#out, line);
    } catch (error) {
      this.#needFull = true;
      return { ok: false, error: error as Error };
    }
    this.#needFull = false;
    return { ok: true, full, stats: { services: state.services.size, changed: state.changed.size } };
  }

  async cleanup(): Promise<void> {
    // Nothing was ever installed.
  }

  async close(): Promise<void> {
    // No sockets or listeners to release.
  }
}

function writeStream(out: Writable, line: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      out.write(line, (error) => (error ? reject(error) : resolve()));
    } catch (error) {
      reject(error as Error);
    }
  });
}

/** writeAll writes buf to fd through the thread pool, through short writes, waiting out a full non-blocking pipe. */
async function writeAll(fd: number, buf: Buffer): Promise<void> {
  let off = 0;
  let waits = 0;
  while (off < buf.length) {
    try {
      off += await new Promise<number>((resolve, reject) => write(fd, buf, off, buf.length - off, null, (error, n) => (error ? reject(error) : resolve(n))));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 500) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function createProxier(_config: ProxyConfig): Promise<Proxier> {
  return new DryRunProxier({ fd: 1 });
}
