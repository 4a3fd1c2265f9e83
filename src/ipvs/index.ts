import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import { MetaProxier } from '../endpoints/meta-proxier.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import { detectHostFeatures } from '../iptables/host-features.ts';
import { familyWorks } from '../iptables/index.ts';
import { createRunner, detectBackend } from '../iptables/runner.ts';
import { createLogger } from '../util/log.ts';
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
  const secondary: IPFamily = primary === 4 ? 6 : 4;
  if (!(await familyWorks(backend, secondary))) {
    log.info(0, 'Single-stack: the other family\'s iptables does not work here', { primary: `IPv${primary}`, missing: `IPv${secondary}` });
    return make(primary, true);
  }
  log.info(0, 'Dual-stack: one IPVS proxier per IP family', { primary: `IPv${primary}` });
  return new MetaProxier([{ family: primary, proxier: make(primary, true) }, { family: secondary, proxier: make(secondary, false) }]);
}

export { IpvsProxier, DUMMY_LINK } from './proxier.ts';
