import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { IptablesProxier, type IptablesMetrics } from './proxier.ts';
import { createRunner, detectBackend } from './runner.ts';
import { writeProcSysctl } from './sysctl.ts';

export { IptablesProxier } from './proxier.ts';
export { renderRules } from './render.ts';
export { IptablesRestoreError, IptablesBackendError } from './errors.ts';

/**
 * createProxier builds the iptables backend: `--iptables-backend` picks the
 * binaries, else whatever `iptables` points to (`iptables -V`).
 */
export async function createProxier(config: ProxyConfig, metrics: IptablesMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  return new IptablesProxier({ config, runner: createRunner(backend), metrics, healthHost: '0.0.0.0', now: Date.now, sysctl: writeProcSysctl });
}
