import type { Proxier } from './proxier.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { BackendMetrics } from './metrics.ts';
import { UnknownProxyModeError } from './errors.ts';

/** ProxierFactory builds a backend from the validated configuration; it may throw (bad environment, missing binaries). */
export type ProxierFactory = (config: ProxyConfig, metrics: BackendMetrics) => Promise<Proxier>;

/**
 * backends maps each `--mode` to a lazy loader of its module, which exports
 * `createProxier`. Loading lazily keeps one mode's dependencies (netlink FFI,
 * iptables binaries) out of the others. Each backend adds its own line.
 */
const backends: Record<string, () => Promise<{ createProxier: ProxierFactory }>> = {
  'dry-run': () => import('./dry-run-proxier.ts'),
  ipvs: () => import('../ipvs/index.ts'),
  iptables: () => import('../iptables/index.ts'),
  nftables: () => import('../nftables/index.ts'),
  userspace: () => import('../userspace/index.ts'),
};

/** availableModes lists the modes this build can run. */
export function availableModes(): string[] {
  return Object.keys(backends);
}

/** loadBackend returns the factory for a mode, or throws UnknownProxyModeError. */
export async function loadBackend(mode: string): Promise<ProxierFactory> {
  const load = backends[mode];
  if (!load) throw new UnknownProxyModeError(mode, availableModes());
  return (await load()).createProxier;
}
