import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import { detectHostFeatures } from '../iptables/host-features.ts';
import { createRunner, detectBackend } from '../iptables/runner.ts';
import { IpvsProxier } from './proxier.ts';

/** createProxier builds the IPVS proxier for `ferry proxy --mode ipvs`. */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const hostFeatures = await detectHostFeatures(backend);
  return new IpvsProxier(config, { registry: metrics.registry, restoreFailures: metrics.iptablesRestoreFailures, runner: createRunner(backend), hostFeatures });
}

export { IpvsProxier, DUMMY_LINK } from './proxier.ts';
