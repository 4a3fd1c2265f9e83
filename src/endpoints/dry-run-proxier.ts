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

/**
 * DryRunProxier is the `dry-run` mode: it changes nothing in the kernel and
 * writes each synced ProxyState as one JSON line, so the watcher can be
 * tested without a backend and users see what a proxy would program.
 */
export class DryRunProxier implements Proxier {
  readonly mode = 'dry-run';
  readonly #out: Writable;
  #needFull = true;

  constructor(out: Writable) {
    this.#out = out;
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const full = this.#needFull;
    const line = JSON.stringify({ full, ...proxyStateToJSON(state) }) + '\n';
    try {
      await new Promise<void>((resolve, reject) => this.#out.write(line, (error) => (error ? reject(error) : resolve())));
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

export async function createProxier(_config: ProxyConfig): Promise<Proxier> {
  return new DryRunProxier(process.stdout);
}
