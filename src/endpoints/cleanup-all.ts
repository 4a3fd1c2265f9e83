import { access } from 'node:fs/promises';
import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import { familiesOnce } from '../iptables/runner.ts';
import { availableModes, loadCleaner, type CleanupProbes } from './backends.ts';
import type { ProxyConfig } from './proxy-config.ts';

const log = createLogger('proxy');

/** Modes whose rules live in iptables, and so are cleaned once per iptables backend found. */
const IPTABLES_MODES = new Set(['iptables', 'ipvs', 'userspace']);

async function iptablesBackends(): Promise<Array<'nft' | 'legacy'>> {
  const found: Array<'nft' | 'legacy'> = [];
  for (const backend of ['nft', 'legacy'] as const) {
    const bins = [`/usr/sbin/iptables-${backend}-restore`, `/sbin/iptables-${backend}-restore`];
    for (const bin of bins) {
      if (await access(bin).then(() => true, () => false)) {
        found.push(backend);
        break;
      }
    }
  }
  return found;
}

/**
 * cleanupAllModes removes what any proxy mode left on this node, as
 * kube-proxy's --cleanup does whatever --mode says: iptables chains in both
 * backends (iptables, ipvs and userspace modes), IPVS services, ipsets and
 * kube-ipvs0, and the nftables table. A mode that cannot run here (no
 * IPVS, no nft) has nothing to clean; a cleanup that fails is reported and
 * the others go on. No proxier is built: each mode's LeftoverCleaner runs
 * only what removing needs, and what the node's tools can do (whether a
 * backend's ip6tables works) is probed once for all the modes.
 */
export async function cleanupAllModes(config: ProxyConfig, modes: readonly string[] = availableModes()): Promise<Error[]> {
  const errors: Error[] = [];
  const backends = await iptablesBackends();
  const probes: CleanupProbes = { iptablesFamilies: familiesOnce() };
  for (const mode of modes) {
    let cleanup;
    try {
      cleanup = await loadCleaner(mode);
    } catch (e) {
      // A mode whose module cannot load here cannot have left anything either.
      log.info(2, 'Mode not available here, nothing to clean', { mode, err: getErrorMessage(e) });
      continue;
    }
    if (!cleanup) continue;
    for (const iptablesBackend of IPTABLES_MODES.has(mode) ? backends : [undefined]) {
      const what = iptablesBackend ? `${mode} (iptables-${iptablesBackend})` : mode;
      try {
        await cleanup({ ...config, mode, iptablesBackend }, probes);
        log.info(2, 'Cleaned up', { mode: what });
      } catch (e) {
        log.warn('Cleanup failed', { mode: what, err: getErrorMessage(e) });
        errors.push(e as Error);
      }
    }
  }
  return errors;
}

/**
 * cleanupOtherModes removes, as a proxy starts, what the modes that keep
 * their rules elsewhere left, as kube-proxy's platformCleanup does: a proxy
 * starting in nftables mode removes the iptables-based modes' chains
 * (iptables, IPVS, userspace), one starting in an iptables-based mode the
 * nftables table; so switching a node's mode (a ConfigMap edit and a
 * restart) leaves one set of rules. Failures are logged, not fatal.
 */
export async function cleanupOtherModes(config: ProxyConfig): Promise<void> {
  const others = config.mode === 'nftables' ? [...IPTABLES_MODES] : IPTABLES_MODES.has(config.mode) ? ['nftables'] : [];
  const errors = await cleanupAllModes(config, others.filter((m) => availableModes().includes(m)));
  if (errors.length) log.warn('Could not remove every other mode\'s leftovers', { failed: errors.length });
}
