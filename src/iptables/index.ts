import { createLogger } from '../util/log.ts';
import { MetaProxier } from '../endpoints/meta-proxier.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { IptablesProxier, type IptablesMetrics } from './proxier.ts';
import { createRunner, detectBackend, type IptablesBackend } from './runner.ts';
import { writeProcSysctl } from './sysctl.ts';

export { IptablesProxier } from './proxier.ts';
export { renderRules } from './render.ts';
export { IptablesRestoreError, IptablesBackendError } from './errors.ts';

const log = createLogger('iptables');

/** familyWorks tells whether a family's nat table can be read with this backend (kube-proxy's iptables Present()). */
export async function familyWorks(backend: IptablesBackend, family: IPFamily): Promise<boolean> {
  return createRunner(backend, family).save('nat').then(() => true, () => false);
}

/**
 * createProxier builds the iptables backend: `--iptables-backend` picks the
 * binaries, else detectBackend chooses as kube-proxy's image does. As
 * kube-proxy, a node whose iptables and ip6tables both work runs one proxier
 * per family (a MetaProxier, the node IP's family first); otherwise the
 * primary family's alone. The IPv6 proxier's health check node ports listen
 * on '::' (IPv6 only) beside the IPv4 ones on 0.0.0.0.
 */
export async function createProxier(config: ProxyConfig, metrics: IptablesMetrics): Promise<Proxier> {
  const backend = config.iptablesBackend ?? (await detectBackend());
  log.info(1, 'iptables backend', { backend, how: config.iptablesBackend ? '--iptables-backend' : 'detected' });
  const make = (family: IPFamily) => new IptablesProxier({
    config, runner: createRunner(backend, family), metrics, healthHost: family === 4 ? '0.0.0.0' : '::', now: Date.now, sysctl: writeProcSysctl,
  });
  const primary = config.primaryIPFamily ?? 4;
  const secondary: IPFamily = primary === 4 ? 6 : 4;
  if (!(await familyWorks(backend, secondary))) {
    log.info(0, 'Single-stack: the other family\'s iptables does not work here', { primary: `IPv${primary}`, missing: `IPv${secondary}` });
    return make(primary);
  }
  log.info(0, 'Dual-stack: one iptables proxier per IP family', { primary: `IPv${primary}` });
  return new MetaProxier([{ family: primary, proxier: make(primary) }, { family: secondary, proxier: make(secondary) }]);
}
