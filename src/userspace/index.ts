import type { BackendMetrics } from '../endpoints/metrics.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { createRunner, detectBackend } from '../iptables/runner.ts';
import { createMetrics } from './metrics.ts';
import { createPortalRunner } from './portal-runner.ts';
import { UserspaceProxier } from './proxier.ts';
import { defaultTcpThreads } from './engine/engine.ts';

export { UserspaceProxier } from './proxier.ts';

/**
 * createProxier builds the userspace backend from `ferry proxy`'s
 * configuration (`--proxy-port-range`, `--udp-timeout`, `--iptables-backend`)
 * and registers its metrics in `metrics.registry`.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  return new UserspaceProxier({
    listenAddress: '0.0.0.0',
    portRange: config.proxyPortRange,
    udpIdleTimeoutMs: config.udpIdleTimeoutMs,
    runner: createPortalRunner(createRunner(backend)),
    metrics: createMetrics(metrics.registry),
    tcpThreads: defaultTcpThreads(),
  });
}

/** cleanupLeftovers removes the portal chains and the jumps into them (IPv4, the mode's only family), as UserspaceProxier.cleanup does. */
export async function cleanupLeftovers(config: ProxyConfig): Promise<void> {
  await createPortalRunner(createRunner(config.iptablesBackend ?? (await detectBackend()))).removeAll();
}
