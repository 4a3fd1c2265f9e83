import { createLogger } from '../util/log.ts';
import { proxierPerFamily } from '../endpoints/meta-proxier.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { CleanupProbes } from '../endpoints/backends.ts';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { healthHostOf } from '../endpoints/service-health.ts';
import { cleanupRules } from './cleanup.ts';
import { CT_STATE_INVALID_DROPPED_COUNTER, LOCALHOST_NODEPORTS_COUNTER } from './fixed-chains.ts';
import { familyMetrics } from './family-metrics.ts';
import { KernelNfacctCounters } from './nfacct-counters.ts';
import { IptablesProxier } from './proxier.ts';
import { detectHostFeatures } from './host-features.ts';
import { createRunner, detectBackend, familyWorks } from './runner.ts';
import { writeProcSysctl } from './sysctl.ts';

export { IptablesProxier } from './proxier.ts';
export { renderRules } from './render.ts';
export { IptablesRestoreError, IptablesBackendError } from './errors.ts';

const log = createLogger('iptables');

/**
 * createProxier builds the iptables backend: `--iptables-backend` picks the
 * binaries, else detectBackend chooses as kube-proxy's image does. The
 * ctstate INVALID drops and localhost NodePort packets are counted in nfacct
 * where the kernel has it, and read from there at each scrape (the counters
 * are the kernel's, so both families' drops add up in them). As kube-proxy,
 * a node whose iptables and ip6tables both work runs one proxier per family
 * (a MetaProxier, the node IP's family first); otherwise the primary
 * family's alone. The IPv6 proxier's health check node ports listen on '::'
 * (IPv6 only) beside the IPv4 ones on 0.0.0.0.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const host = await detectHostFeatures(backend);
  log.info(1, 'iptables backend', { backend, how: config.iptablesBackend ? '--iptables-backend' : 'detected', ...host });
  if (host.conntrackTCPLiberal) log.info(0, 'nf_conntrack_tcp_be_liberal set, not installing DROP rules for INVALID packets');
  const nfacct = new KernelNfacctCounters();
  metrics.countCtStateInvalidDropped(() => nfacct.packets(CT_STATE_INVALID_DROPPED_COUNTER));
  metrics.countLocalhostNodePortsAccepted(() => nfacct.packets(LOCALHOST_NODEPORTS_COUNTER));
  const metricsOf = familyMetrics(metrics);
  const make = (family: IPFamily) => new IptablesProxier({
    config, runner: createRunner(backend, family), metrics: metricsOf(family), healthHost: healthHostOf(family), now: Date.now, sysctl: writeProcSysctl, host, nfacct,
  });
  const primary = config.primaryIPFamily ?? 4;
  return proxierPerFamily(primary, await familyWorks(backend, primary === 4 ? 6 : 4), make, log, 'iptables');
}

/** cleanupLeftovers removes the iptables mode's chains and jumps in each family's tables of one backend, as IptablesProxier.cleanup does. */
export async function cleanupLeftovers(config: ProxyConfig, probes: CleanupProbes): Promise<void> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  // One after the other: both families' tools may share the xtables lock.
  for (const family of await probes.iptablesFamilies(backend)) await cleanupRules(createRunner(backend, family));
}
