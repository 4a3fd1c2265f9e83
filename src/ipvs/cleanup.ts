import type { IptablesRunner } from '../iptables/runner.ts';
import { IpvsUnavailableError } from '../netlink/ipvs.ts';
import { removeKubeChains } from './iptables.ts';
import { DUMMY_LINK, type IpvsHost, type IpvsOps, type RouteOps } from './kernel.ts';

/** The kernel handles a cleanup works through: IPVS opened only when needed (it may not be in the kernel), rtnetlink. */
export interface CleanupKernel {
  readonly ipvs: () => Promise<IpvsOps>;
  readonly rt: RouteOps;
}

/**
 * removeIpvsLeftovers removes what the IPVS mode puts on a node: every IPVS
 * virtual server (none where the kernel has no IPVS), kube-ipvs0, the KUBE-
 * chains and the jumps into them in each runner's tables, and the KUBE-
 * ipsets. Safe on a clean node. IpvsProxier.cleanup and `ferry proxy
 * --cleanup`, which builds no proxier, both use it.
 */
export async function removeIpvsLeftovers(kernel: CleanupKernel, runners: readonly IptablesRunner[], host: IpvsHost): Promise<void> {
  try {
    await (await kernel.ipvs()).flush();
  } catch (e) {
    if (!(e instanceof IpvsUnavailableError)) throw e;
  }
  const index = await kernel.rt.linkIndex(DUMMY_LINK);
  if (index !== undefined) await kernel.rt.deleteLink(index);
  // One after the other: both families' tools may share the xtables lock.
  for (const runner of runners) await removeKubeChains(runner);
  await host.destroySets();
}
