import type { Counter } from 'prom-client';
import { localIPs } from '../endpoints/node-addresses.ts';
import { cidrsOfFamily, inAnyCIDR, nodePortCIDRs, type IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Proxier, SyncResult } from '../endpoints/proxier.ts';
import { masqueradeMark, type ProxyConfig } from '../endpoints/proxy-config.ts';
import type { ProxyState } from '../endpoints/proxy-state.ts';
import { ServiceHealthServer } from '../endpoints/service-health.ts';
import { createLogger } from '../util/log.ts';
import { CANARY_CHAIN, nftFamily, type LayoutOptions } from './layout.ts';
import type { NftRunner } from './runner.ts';
import type { RenderOptions } from './service.ts';
import { encodable, encodeSets } from './element-encoding.ts';
import { TableModel, type Transaction } from './table-model.ts';
import { SyncHousekeeping } from '../endpoints/sync-housekeeping.ts';

const log = createLogger('nftables');

/**
 * Full resyncs replace the whole table from memory, which resets affinity
 * state and costs seconds at 10k services; the memory is the truth and the
 * canary catches outside edits, so like kube-proxy since #139513 they are
 * hourly rather than every --sync-period.
 */
export const FULL_SYNC_PERIOD_MS = 3_600_000;

/** NftablesMetrics is the part of the proxy's metrics this backend updates. */
export interface NftablesMetrics {
  /** `kubeproxy_sync_proxy_rules_nftables_sync_failures_total`. */
  readonly syncFailures: Pick<Counter, 'inc'>;
  /** `ferry_proxy_nftables_table_repairs_total`: times the table was found deleted or flushed from outside. */
  readonly tableRepairs: Pick<Counter, 'inc'>;
  /** `ferry_proxy_nftables_elements`: elements in the table's sets and maps after the last sync. */
  readonly elements: { set(value: number): void };
}

export interface NftablesProxierOptions {
  readonly config: ProxyConfig;
  /** The family of the table this proxier owns (`ip ferry` or `ip6 ferry`); a dual-stack node runs one proxier per family. */
  readonly family: IPFamily;
  readonly runner: NftRunner;
  readonly metrics: NftablesMetrics;
  /** Listen address of health check node ports. */
  readonly healthHost: string;
  readonly now: () => number;
  /** This node's addresses of the family (read at every sync by default). */
  readonly nodeIPs?: () => string[];
}

/**
 * NftablesProxier programs services into one nftables table of its own
 * (`ip ferry`, or `ip6 ferry` for IPv6) in the flat layout: services are elements of shared maps, so
 * a sync is a transaction of only what changed, computed from memory without
 * listing the kernel. Full (atomic, whole-table) syncs happen at start,
 * after any failure, hourly, and when the canary shows the table was deleted
 * or flushed from outside (checked at every sync, which comes at least every
 * --sync-period).
 */
export class NftablesProxier implements Proxier {
  readonly mode = 'nftables';
  /** Its table's family: the proxy loop sends it that family's snapshots, also when it runs alone (an IPv6 single-stack node). */
  readonly ipFamilies: readonly IPFamily[];
  readonly #o: NftablesProxierOptions;
  readonly #health: ServiceHealthServer;
  #model: TableModel | undefined;
  #needFullSync = true;
  #lastFullSync = 0;
  #lastSyncOk = false;
  readonly #housekeeping: SyncHousekeeping;
  readonly #table: string;

  constructor(options: NftablesProxierOptions) {
    this.#o = options;
    this.ipFamilies = [options.family];
    this.#table = nftFamily(options.family).table;
    this.#health = new ServiceHealthServer(options.healthHost, () => this.#lastSyncOk);
    this.#housekeeping = new SyncHousekeeping(this.#health, log);
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const { runner, metrics, config, now, family } = this.#o;
    let full = this.#needFullSync || !this.#model || now() - this.#lastFullSync >= FULL_SYNC_PERIOD_MS;
    try {
      // The check is a netlink dump of one chain's single rule: cheap enough for every sync.
      let intact = full ? undefined : await this.#tableIntact();
      if (intact === false) {
        log.info(0, 'the nftables table was deleted or flushed from outside: doing a full sync', { table: this.#table });
        metrics.tableRepairs.inc();
        full = true;
      }
      const nodeIPs = this.#o.nodeIPs?.() ?? localIPs(family);
      if (full) this.#model = new TableModel(renderOptions(config, nodeIPs, family));
      const model = this.#model!;
      const nodePortIPs = nodePortAddresses(config, family, nodeIPs, state);
      if (full) intact ??= await this.#tableIntact();
      const tx = full ? await this.#fullSync(model, state, nodePortIPs, intact!) : model.partial(state, nodePortIPs);
      if (!full && tx.text) await runner.run(tx.text);
      if (full) this.#lastFullSync = now();
      this.#needFullSync = false;
      this.#lastSyncOk = true;
      metrics.elements.set(tx.elements);
      await this.#housekeeping.afterSync(state);
      return { ok: true, full, stats: { services: state.services.size, elements: tx.elements, elementOps: tx.elementOps, chains: tx.chains, bytes: tx.text.length } };
    } catch (e) {
      metrics.syncFailures.inc();
      // The model was updated as the transaction was rendered: only a full sync makes it true again.
      this.#needFullSync = true;
      this.#lastSyncOk = false;
      return { ok: false, error: e as Error };
    }
  }

  /**
   * #fullSync replaces the table. When it holds rules, in one nft
   * transaction, so traffic never sees a half-loaded table. When it is
   * missing or empty (a cold start, or deleted from outside) nothing is lost
   * by loading it in steps: the table and its rules through nft, then the
   * elements through netlink, past nft's parser (most of a full sync's time
   * and memory at 10k services).
   */
  async #fullSync(model: TableModel, state: ProxyState, nodePortIPs: readonly string[], intact: boolean): Promise<Transaction> {
    const { runner } = this.#o;
    const tx = model.full(state, nodePortIPs, intact ? () => false : encodable);
    await runner.run(tx.text);
    if (tx.elementsApart) await runner.addElements(encodeSets(tx.elementsApart));
    return tx;
  }

  /** #tableIntact reads one small chain: gone with `delete table` or `flush ruleset`, empty after `flush table`. */
  async #tableIntact(): Promise<boolean> {
    return (await this.#o.runner.chainRules(CANARY_CHAIN)) > 0;
  }

  async cleanup(): Promise<void> {
    await this.#health.close();
    await removeTable(this.#o.runner, this.#o.family);
    this.#needFullSync = true;
  }

  async close(): Promise<void> {
    await this.#health.close();
    this.#o.runner.close();
  }
}

/**
 * nodePortAddresses are the local addresses in `nodeport-ips`, or none when
 * every local address accepts node ports (`fib daddr type local` then). As
 * kube-proxy's nftables mode, never loopback: no localhost node ports.
 */
function nodePortAddresses(config: ProxyConfig, family: IPFamily, nodeIPs: readonly string[], state: ProxyState): string[] {
  const cidrs = nodePortCIDRs(config.nodePortAddresses, family, state.nodeIPs);
  return cidrs === 'all' ? [] : nodeIPs.filter((ip) => inAnyCIDR(ip, cidrs));
}

/** renderOptions derives the renderer's inputs for one family's table from the configuration and this node's addresses. */
export function renderOptions(config: ProxyConfig, nodeIPs: readonly string[], family: IPFamily): RenderOptions {
  const layout: LayoutOptions = {
    family,
    clusterCIDRs: cidrsOfFamily(family, config.clusterCIDRs),
    masqueradeAll: config.masqueradeAll,
    masqueradeMark: masqueradeMark(config.masqueradeBit),
    // Only this family's CIDRs count (a list of the other's alone is every address); `primary` never means all.
    nodePortsOnAllAddresses: nodePortCIDRs(config.nodePortAddresses, family, undefined) === 'all',
  };
  return { ...layout, nodeIPs };
}

/** removeTable deletes Ferry's table of one family (adding it first, so that a node without it is no error). */
export async function removeTable(runner: NftRunner, family: IPFamily): Promise<void> {
  const { table } = nftFamily(family);
  await runner.run(`add table ${table}\ndelete table ${table}\n`);
}
