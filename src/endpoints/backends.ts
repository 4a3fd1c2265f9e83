import type { IptablesBackend } from '../iptables/runner.ts';
import type { IPFamily } from './node-port-addresses.ts';
import type { Proxier } from './proxier.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { BackendMetrics } from './metrics.ts';
import { UnknownProxyModeError } from './errors.ts';

/** ProxierFactory builds a backend from the validated configuration; it may throw (bad environment, missing binaries). */
export type ProxierFactory = (config: ProxyConfig, metrics: BackendMetrics) => Promise<Proxier>;

/** What the node's tools can do, found once for all the modes a cleanup goes through (endpoints/cleanup-all.ts). */
export interface CleanupProbes {
  /** The IP families whose tables this iptables backend's tools read (4, and 6 where ip6tables works). */
  iptablesFamilies(backend: IptablesBackend): Promise<IPFamily[]>;
}

/**
 * LeftoverCleaner removes what a mode left on this node, as its proxier's
 * cleanup does, without building the proxier (nor finding what only
 * writing rules needs, as the iptables version): for `ferry proxy
 * --cleanup` and a proxy starting in another mode. Safe on a clean node and
 * where the mode cannot run.
 */
export type LeftoverCleaner = (config: ProxyConfig, probes: CleanupProbes) => Promise<void>;

/** A backend module: its proxier, and how to clean up after it where it leaves anything. */
interface BackendModule {
  createProxier: ProxierFactory;
  cleanupLeftovers?: LeftoverCleaner;
}

/**
 * backends maps each `--mode` to a lazy loader of its module, which exports
 * `createProxier`. Loading lazily keeps one mode's dependencies (netlink FFI,
 * iptables binaries) out of the others. Each backend adds its own line.
 */
const backends: Record<string, () => Promise<BackendModule>> = {
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
  return (await loadModule(mode)).createProxier;
}

/** loadCleaner returns a mode's LeftoverCleaner; undefined for a mode that leaves nothing (dry-run). */
export async function loadCleaner(mode: string): Promise<LeftoverCleaner | undefined> {
  return (await loadModule(mode)).cleanupLeftovers;
}

async function loadModule(mode: string): Promise<BackendModule> {
  const load = backends[mode];
  if (!load) throw new UnknownProxyModeError(mode, availableModes());
  return load();
}
