import { availableParallelism } from 'node:os';
import type { Registry } from 'prom-client';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { ConnectionCounts } from './connection-counts.ts';
import { createMetrics } from './metrics.ts';
import { createPortalRunner } from './portal-runner.ts';
import { UserspaceProxier } from './proxier.ts';

export { UserspaceProxier } from './proxier.ts';

/**
 * createProxier builds the userspace backend from `ferry proxy`'s
 * configuration (`--proxy-port-range`, `--udp-timeout`, `--iptables-backend`)
 * and registers its metrics in `metrics`. It accepts TCP connections in one
 * process per core (this one plus availableParallelism() - 1 workers).
 */
export function createProxier(config: ProxyConfig, metrics: Registry): UserspaceProxier {
  return new UserspaceProxier({
    listenAddress: '0.0.0.0',
    portRange: config.proxyPortRange,
    udpIdleTimeoutMs: config.udpIdleTimeoutMs,
    runner: createPortalRunner(config.iptablesBackend),
    metrics: createMetrics(metrics, new ConnectionCounts()),
    workers: availableParallelism() - 1,
  });
}
