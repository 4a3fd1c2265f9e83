import { availableParallelism } from 'node:os';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { createRunner, detectBackend } from '../iptables/runner.ts';
import { ConnectionCounts } from './connection-counts.ts';
import { createMetrics } from './metrics.ts';
import { createPortalRunner } from './portal-runner.ts';
import { UserspaceProxier } from './proxier.ts';
import { SHARED_ACCEPT_ENV } from './worker-pool.ts';

export { UserspaceProxier } from './proxier.ts';

/**
 * createProxier builds the userspace backend from `ferry proxy`'s
 * configuration (`--proxy-port-range`, `--udp-timeout`, `--iptables-backend`)
 * and registers its metrics in `metrics.registry`. TCP connections are
 * accepted by this process plus availableParallelism() - 2 workers: one core
 * is left to the rest of the node. On the 2-core lab, where clients and
 * backends share the cores, a second process measured slower as often as
 * faster (scripts/bench/userspace), so there it runs alone; more cores are
 * unmeasured.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const workers = Math.max(0, availableParallelism() - 2);
  // This process shares its listeners with the workers: take turns accepting (see SHARED_ACCEPT_ENV).
  if (workers > 0) Object.assign(process.env, SHARED_ACCEPT_ENV);
  return new UserspaceProxier({
    listenAddress: '0.0.0.0',
    portRange: config.proxyPortRange,
    udpIdleTimeoutMs: config.udpIdleTimeoutMs,
    runner: createPortalRunner(createRunner(backend)),
    metrics: createMetrics(metrics.registry, new ConnectionCounts()),
    workers,
  });
}
