import type { CleanupProbes } from '../endpoints/backends.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import { proxierPerFamily } from '../endpoints/meta-proxier.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import { detectHostFeatures } from '../iptables/host-features.ts';
import { createRunner, detectBackend, familyWorks } from '../iptables/runner.ts';
import { createLogger } from '../util/log.ts';
import { removeIpvsLeftovers } from './cleanup.ts';
import { REAL_HOST, type IpvsHost, type IpvsOps } from './kernel.ts';
import { IpvsProxier } from './proxier.ts';

const log = createLogger('ipvs');

/**
 * createProxier builds the IPVS proxier for `ferry proxy --mode ipvs`. As
 * kube-proxy (NewDualStackProxier), a node whose iptables and ip6tables both
 * work runs one IPVS proxier per family (a MetaProxier, the node IP's family
 * first), sharing IPVS and kube-ipvs0, each with its own family's ipsets and
 * rules; otherwise the primary family's alone. Only the first registers the
 * IPVS metrics (one registry per process).
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const hostFeatures = await detectHostFeatures(backend);
  const make = (family: IPFamily, first: boolean) =>
    new IpvsProxier(config, { ...(first ? { registry: metrics.registry } : {}), restoreFailures: metrics.iptablesRestoreFailures, runner: createRunner(backend, family), hostFeatures, family });
  const primary = config.primaryIPFamily ?? 4;
  return proxierPerFamily(primary, await familyWorks(backend, primary === 4 ? 6 : 4), make, log, 'IPVS');
}

export { IpvsProxier } from './proxier.ts';
export { DUMMY_LINK } from './kernel.ts';

/** cleanupLeftovers removes what the IPVS mode left (cleanup.ts) in each family's tables of one backend, without building a proxier. */
export async function cleanupLeftovers(config: ProxyConfig, probes: CleanupProbes, host: IpvsHost = REAL_HOST): Promise<void> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const runners = (await probes.iptablesFamilies(backend)).map((family) => createRunner(backend, family));
  let ipvs: IpvsOps | undefined;
  const rt = host.openRoute();
  try {
    await removeIpvsLeftovers({ ipvs: async () => (ipvs ??= await host.openIpvs()), rt }, runners, host);
  } finally {
    ipvs?.close();
    rt.close();
  }
}
