import { release } from 'node:os';
import { familySum, type BackendMetrics } from '../endpoints/metrics.ts';
import { proxierPerFamily } from '../endpoints/meta-proxier.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import { healthHostOf } from '../endpoints/service-health.ts';
import { createLogger } from '../util/log.ts';
import { nftFamily } from './layout.ts';
import { NftablesProxier, removeTable } from './proxier.ts';
import { NftError, NftUnavailableError } from './errors.ts';
import { createNftRunner, type NftRunner } from './runner.ts';

export { NftablesProxier } from './proxier.ts';
export { renderFullTransaction } from './render.ts';
export { NftError, NftUnavailableError };

const log = createLogger('nftables');

/**
 * createProxier builds the nftables backend: libnftables in-process when it
 * loads, else the nft binary. A dry run of an empty table proves, before the
 * first sync, that this kernel and nft accept what the proxier writes. As
 * kube-proxy, a node whose kernel takes both families' tables runs one
 * proxier per family (`ip ferry` and `ip6 ferry`, the node IP's family
 * first); the IPv6 proxier's health check node ports listen on '::'.
 */
export async function createProxier(config: ProxyConfig, metrics: BackendMetrics): Promise<Proxier> {
  checkKernel(release(), process.env.KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK);
  const primary = config.primaryIPFamily ?? 4;
  const secondary: IPFamily = primary === 4 ? 6 : 4;
  const runners = new Map<IPFamily, NftRunner>([[primary, createNftRunner(primary)]]);
  await probe(runners.get(primary)!, primary);
  const other = createNftRunner(secondary);
  if (await probe(other, secondary).then(() => true, () => false)) runners.set(secondary, other);
  else other.close();
  // Both families' tables' elements added up in the one gauge.
  const elements = familySum((_, total) => metrics.nftablesElements.set(total));
  const make = (family: IPFamily) => new NftablesProxier({
    config,
    family,
    runner: runners.get(family)!,
    metrics: { syncFailures: metrics.nftablesSyncFailures, tableRepairs: metrics.nftablesTableRepairs, elements: { set: (value) => elements(family, '', value) } },
    healthHost: healthHostOf(family),
    now: Date.now,
  });
  return proxierPerFamily(primary, runners.has(secondary), make, log, 'nftables');
}

/** probe checks, without committing anything, that the kernel and nft take a map of the kind the family's table holds. */
function probe(runner: NftRunner, family: IPFamily): Promise<void> {
  const { nft: ip } = nftFamily(family);
  return runner.check(`add table ${ip} ferry-probe\nadd map ${ip} ferry-probe m { typeof ${ip} daddr . tcp dport . numgen random mod 1 : ${ip} daddr . tcp dport ; }\n`);
}

/**
 * cleanupLeftovers deletes Ferry's tables of both families, as the
 * proxiers' cleanup does, without the dry run a proxier starts with:
 * deleting a table needs none of what it proves. Where neither libnftables
 * nor nft can run, the mode never ran either, and there is nothing to clean.
 */
export async function cleanupLeftovers(): Promise<void> {
  const runner = createNftRunner(4);
  try {
    for (const family of [4, 6] as const) await removeTable(runner, family);
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
