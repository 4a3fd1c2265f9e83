import type { BackendMetrics } from '../endpoints/metrics.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { NftablesProxier } from './proxier.ts';
import { createNftRunner } from './runner.ts';

export { NftablesProxier } from './proxier.ts';
export { renderFullTransaction } from './render.ts';
export { NftError, NftUnavailableError } from './errors.ts';

/**
 * createProxier builds the nftables backend: libnftables in-process when it
 * loads, else the nft binary. A dry run of an empty table proves, before the
 * first sync, that this kernel and nft accept what the proxier writes.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
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
