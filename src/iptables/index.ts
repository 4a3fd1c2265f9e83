import { createLogger } from '../util/log.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { IptablesProxier, type IptablesMetrics } from './proxier.ts';
import { detectHostFeatures } from './host-features.ts';
import { createRunner, detectBackend } from './runner.ts';
import { writeProcSysctl } from './sysctl.ts';

export { IptablesProxier } from './proxier.ts';
export { renderRules } from './render.ts';
export { IptablesRestoreError, IptablesBackendError } from './errors.ts';

const log = createLogger('iptables');

/**
 * createProxier builds the iptables backend: `--iptables-backend` picks the
 * binaries, else detectBackend chooses as kube-proxy's image does.
 */
export async function createProxier(config: ProxyConfig, metrics: IptablesMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  const host = await detectHostFeatures(backend);
  log.info(1, 'iptables backend', { backend, how: config.iptablesBackend ? '--iptables-backend' : 'detected', ...host });
  if (host.conntrackTCPLiberal) log.info(0, 'nf_conntrack_tcp_be_liberal set, not installing DROP rules for INVALID packets');
  return new IptablesProxier({ config, runner: createRunner(backend), metrics, healthHost: '0.0.0.0', now: Date.now, sysctl: writeProcSysctl, host });
}
