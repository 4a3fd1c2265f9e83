import type { Logger } from '../util/log.ts';
import type { IPFamily } from './node-port-addresses.ts';
import type { Proxier, SyncResult } from './proxier.ts';
import type { ProxyState } from './proxy-state.ts';

/** FamilyProxier is one proxier of a MetaProxier and the IP family it programs. */
export interface FamilyProxier {
  readonly family: IPFamily;
  readonly proxier: Proxier;
}

/**
 * MetaProxier is kube-proxy's metaproxier: one proxier per IP family behind
 * the Proxier contract, the primary family (the node IP's) first. The proxy
 * loop builds one snapshot per family (`ipFamilies`), and each snapshot goes
 * to its family's proxier; cleanup and close reach them all.
 */
export class MetaProxier implements Proxier {
  readonly mode: string;
  readonly ipFamilies: readonly IPFamily[];
  readonly #byFamily: ReadonlyMap<IPFamily, Proxier>;

  constructor(proxiers: readonly FamilyProxier[]) {
    if (proxiers.length === 0) throw new Error('MetaProxier needs at least one proxier');
    this.mode = proxiers[0]!.proxier.mode;
    this.ipFamilies = Object.freeze(proxiers.map((p) => p.family));
    this.#byFamily = new Map(proxiers.map((p) => [p.family, p.proxier]));
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const family = state.ipFamily ?? 4;
    const proxier = this.#byFamily.get(family);
    if (!proxier) return { ok: false, error: new Error(`no proxier for IPv${family}`) };
    return proxier.sync(state);
  }

  async cleanup(): Promise<void> {
    // One after the other: both families' tools may share the xtables lock.
    for (const proxier of this.#byFamily.values()) await proxier.cleanup();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byFamily.values()].map((p) => p.close()));
  }
}

/**
 * proxierPerFamily is kube-proxy's choice between NewDualStackProxier and a
 * single-stack proxier: where the other family's tools work too, one
 * proxier per family in a MetaProxier, the primary first; else the
 * primary's alone. `make` is told which proxier is the first built (the one
 * that registers per-process metrics).
 */
export function proxierPerFamily(primary: IPFamily, otherWorks: boolean, make: (family: IPFamily, first: boolean) => Proxier, log: Logger, what: string): Proxier {
  const secondary: IPFamily = primary === 4 ? 6 : 4;
  if (!otherWorks) {
    log.info(0, `Single-stack: the other family's ${what} does not work here`, { primary: `IPv${primary}`, missing: `IPv${secondary}` });
    return make(primary, true);
  }
  log.info(0, `Dual-stack: one ${what} proxier per IP family`, { primary: `IPv${primary}` });
  return new MetaProxier([{ family: primary, proxier: make(primary, true) }, { family: secondary, proxier: make(secondary, false) }]);
}
