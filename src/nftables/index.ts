import { release } from 'node:os';
import type { BackendMetrics } from '../endpoints/metrics.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { createLogger } from '../util/log.ts';
import { NftablesProxier, removeTable } from './proxier.ts';
import { NftError, NftUnavailableError } from './errors.ts';
import { createNftRunner } from './runner.ts';

export { NftablesProxier } from './proxier.ts';
export { renderFullTransaction } from './render.ts';
export { NftError, NftUnavailableError };

const log = createLogger('nftables');

/**
 * createProxier builds the nftables backend: libnftables in-process when it
 * loads, else the nft binary. A dry run of an empty table proves, before the
 * first sync, that this kernel and nft accept what the proxier writes.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  checkKernel(release(), process.env.KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK);
  const runner = createNftRunner();
  await runner.check('add table ip ferry-probe\nadd map ip ferry-probe m { typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport ; }\n');
  return new NftablesProxier({
    config,
    runner,
    metrics: { syncFailures: metrics.nftablesSyncFailures, tableRepairs: metrics.nftablesTableRepairs, elements: metrics.nftablesElements },
    healthHost: '0.0.0.0',
    now: Date.now,
  });
}

/**
 * cleanupLeftovers deletes Ferry's table, as NftablesProxier.cleanup does,
 * without the dry run a proxier starts with: deleting a table needs none of
 * what it proves. Where neither libnftables nor nft can run, the mode never
 * ran either, and there is nothing to clean.
 */
export async function cleanupLeftovers(): Promise<void> {
  const runner = createNftRunner();
  try {
    await removeTable(runner);
  } catch (e) {
    if (!(e instanceof NftUnavailableError)) throw e;
    log.info(2, 'nftables not available here, nothing to clean', { err: e.message });
  } finally {
    runner.close();
  }
}

/**
 * checkKernel refuses kernels before 5.13, as kube-proxy does: older ones
 * lack nf_tables features the layout relies on. kube-proxy's environment
 * variable skips the check (any non-empty value).
 */
export function checkKernel(kernelRelease: string, skip: string | undefined): void {
  if (skip) return;
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  if (major > 5 || (major === 5 && minor >= 13)) return;
  throw new NftUnavailableError(`kernel ${kernelRelease} is older than 5.13, which the nftables mode needs (KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK=1 skips this check)`);
}
