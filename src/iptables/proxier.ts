import { localIPs } from '../endpoints/node-addresses.ts';
import { cidrsOfFamily, type IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Proxier, SyncResult } from '../endpoints/proxier.ts';
import { masqueradeMark, type ProxyConfig } from '../endpoints/proxy-config.ts';
import type { ProxyState } from '../endpoints/proxy-state.ts';
import { ServiceHealthServer } from '../endpoints/service-health.ts';
import { createLogger } from '../util/log.ts';
import { isServiceChain } from './chain-names.ts';
import { cleanupRules } from './cleanup.ts';
import { JUMP_RULES, KUBE_PROXY_CANARY, KUBELET_JUMP_RULES, missingJumps, NFACCT_COUNTERS } from './fixed-chains.ts';
import type { NfacctCounters } from './nfacct-counters.ts';
import { nodePortTargets } from './node-ports.ts';
import { renderRules, type FragmentCache, type RenderOptions } from './render.ts';
import type { IptablesHostFeatures } from './host-features.ts';
import { chainsInSave, type IptablesRunner } from './runner.ts';
import { ROUTE_LOCALNET, type SysctlWriter } from './sysctl.ts';
import { SyncHousekeeping } from '../endpoints/sync-housekeeping.ts';

const log = createLogger('iptables');

/**
 * Partial syncs look for the canary at most this often: the lookup costs an
 * exec that reads the table (slow at 10k services with iptables-legacy), and
 * kube-proxy too only polls it periodically. Full syncs recreate it anyway.
 */
const CANARY_INTERVAL_MS = 5_000;

/** IptablesMetrics is the part of the proxy's metrics this backend updates. */
export interface IptablesMetrics {
  readonly iptablesRestoreFailures: { inc(): void };
  readonly iptablesPartialRestoreFailures: { inc(): void };
  readonly iptablesRulesTotal: { set(labels: { table: string }, value: number): void };
  readonly iptablesRulesLastSync: { set(labels: { table: string }, value: number): void };
}

/** IptablesProxierOptions are the proxier's explicit inputs (no flags, no globals). */
export interface IptablesProxierOptions {
  readonly config: ProxyConfig;
  /** The runner's family (iptables or ip6tables) is the proxier's. */
  readonly runner: IptablesRunner;
  readonly metrics: IptablesMetrics;
  /** Listen address of health check node ports ('::' for an IPv6 proxier beside an IPv4 one). */
  readonly healthHost: string;
  /** Clock, injected for tests of the full-sync period. */
  readonly now: () => number;
  /** Sets sysctls of the proxy's network namespace (route_localnet); unit tests pass a fake. */
  readonly sysctl: SysctlWriter;
  /** What this node's iptables and conntrack offer, found at start (detectHostFeatures). */
  readonly host: IptablesHostFeatures;
  /** nfacct objects to count drops into; without it (unit tests) rules have no `-m nfacct`. */
  readonly nfacct?: NfacctCounters;
}

/**
 * IptablesProxier programs services with iptables-restore, kube-proxy's way:
 * one `iptables-restore --noflush` per sync, partial when it can be, full on
 * the first sync, every sync period, after any failure and after an external
 * flush (the canary chain vanished). It programs one IP family, as each of
 * kube-proxy's per-family proxiers: a dual-stack node runs two.
 */
export class IptablesProxier implements Proxier {
  readonly mode = 'iptables';
  readonly ipFamily: IPFamily;
  readonly ipFamilies: readonly IPFamily[];
  private readonly options: IptablesProxierOptions;
  private readonly health: ServiceHealthServer;
  private readonly housekeeping: SyncHousekeeping;
  /** The following fields are mutated only inside sync(). */
  private needFullSync = true;
  private lastFullSync = 0;
  private installedChains: ReadonlySet<string> = new Set();
  private lastSyncOk = false;
  private lastCanaryCheck = 0;
  private readonly fragments: FragmentCache = new Map();
  private routeLocalnetSet = false;
  /** nfacct objects created at the first sync (not in the constructor: a proxier built and never synced leaves none). */
  private nfacctCounters: ReadonlySet<string> | undefined;

  constructor(options: IptablesProxierOptions) {
    this.options = options;
    this.ipFamily = options.runner.ipFamily ?? 4;
    this.ipFamilies = [this.ipFamily];
    this.health = new ServiceHealthServer(options.healthHost, () => this.lastSyncOk);
    this.housekeeping = new SyncHousekeeping(this.health, log);
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const { runner, metrics, config, now } = this.options;
    let full = this.needFullSync || now() - this.lastFullSync >= config.syncPeriodMs;
    try {
      if (!full && now() - this.lastCanaryCheck >= CANARY_INTERVAL_MS) {
        this.lastCanaryCheck = now();
        if (!(await runner.chainExists('nat', KUBE_PROXY_CANARY))) {
          log.info(0, 'canary chain is gone, the tables were flushed: doing a full sync');
          full = true;
        }
      }
      let installed = this.installedChains;
      let jumps: ReturnType<typeof missingJumps> = [];
      this.nfacctCounters ??= (await this.options.nfacct?.ensure(NFACCT_COUNTERS)) ?? new Set();
      const options = this.renderOptions(state);
      if (full) {
        const [filter, nat] = await Promise.all([runner.save('filter'), runner.save('nat')]);
        installed = new Set(chainsInSave(nat).filter(isServiceChain));
        jumps = missingJumps({ filter, nat }, options.localhostNodePorts ? [...JUMP_RULES, ...KUBELET_JUMP_RULES] : JUMP_RULES);
      }
      if (full) await this.ensureRouteLocalnet(options.localhostNodePorts);
      const rendered = renderRules({ state, full, installedChains: installed, jumps }, options, this.fragments);
      await runner.restore(rendered.text);
      this.installedChains = rendered.activeChains;
      metrics.iptablesRulesTotal.set({ table: 'filter' }, rendered.ruleCounts.filter);
      metrics.iptablesRulesTotal.set({ table: 'nat' }, rendered.ruleCounts.nat);
      metrics.iptablesRulesLastSync.set({ table: 'filter' }, rendered.writtenRuleCounts.filter);
      metrics.iptablesRulesLastSync.set({ table: 'nat' }, rendered.writtenRuleCounts.nat);
      if (full) this.lastFullSync = this.lastCanaryCheck = now();
      this.needFullSync = false;
      this.lastSyncOk = true;
      await this.housekeeping.afterSync(state);
      return { ok: true, full, stats: { ...rendered.ruleCounts, services: state.services.size, deletedChains: rendered.deletedChains } };
    } catch (e) {
      metrics.iptablesRestoreFailures.inc();
      if (!full) metrics.iptablesPartialRestoreFailures.inc();
      this.needFullSync = true;
      this.lastSyncOk = false;
      return { ok: false, error: e as Error };
    }
  }

  /**
   * ensureRouteLocalnet sets route_localnet=1 (on full syncs until it has), as
   * kube-proxy does at start with localhost NodePorts: without it the kernel
   * drops a packet to 127.0.0.1 that DNAT sends out of the host as a martian.
   * Where it cannot be set (a read-only /proc/sys), services still get their
   * rules; only NodePorts on 127.0.0.1 do not answer, and the log says why.
   */
  private async ensureRouteLocalnet(wanted: boolean): Promise<void> {
    if (!wanted || this.routeLocalnetSet) return;
    try {
      await this.options.sysctl(ROUTE_LOCALNET, '1');
      this.routeLocalnetSet = true;
    } catch (e) {
      log.warn('Could not set route_localnet: NodePorts will not answer on 127.0.0.1 (or use --iptables-localhost-nodeports=false)', { sysctl: ROUTE_LOCALNET, err: (e as Error).message });
    }
  }

  private renderOptions(state: ProxyState): RenderOptions {
    const { config, host } = this.options;
    const family = this.ipFamily;
    const nodeIPs = localIPs(family);
    return {
      ipFamily: family,
      randomFully: host.randomFully,
      conntrackTCPLiberal: host.conntrackTCPLiberal,
      // The local-traffic detector is the family's own pod CIDR (`--cluster-cidr` may be a dual-stack pair).
      clusterCIDRs: cidrsOfFamily(family, config.clusterCIDRs),
      masqueradeAll: config.masqueradeAll,
      masqueradeMark: masqueradeMark(config.masqueradeBit),
      nodeIPs,
      ...nodePortTargets(config, nodeIPs, state.nodeIPs, family),
      nfacctCounters: this.nfacctCounters,
    };
  }

  async cleanup(): Promise<void> {
    await this.health.close();
    await cleanupRules(this.options.runner);
    this.installedChains = new Set();
    this.needFullSync = true;
  }

  async close(): Promise<void> {
    await this.health.close();
    this.options.nfacct?.close();
  }
}
