import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import type { Proxier, SyncResult } from '../endpoints/proxier.ts';
import type { ProxyState } from '../endpoints/proxy-state.ts';
import { isErrno, type NetlinkError } from '../netlink/errors.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { DesiredIndex, splitSetKey } from './desired-index.ts';
import { IpvsSyncError } from './errors.ts';
import { nodePortAddresses } from './host.ts';
import { renderDelta, renderFullRestore } from './ipset.ts';
import { DUMMY_LINK, probeOps, REAL_HOST, type IpvsHost, type IpvsOps, type RouteOps } from './kernel.ts';
import { removeIpvsLeftovers } from './cleanup.ts';
import { canUseIpvs } from './can-use.ts';
import { phaseTimer } from './phases.ts';
import { healthHostOf, ServiceHealthServer } from '../endpoints/service-health.ts';
import { createRunner, type IptablesRunner } from '../iptables/runner.ts';
import { legacyFilterCleanup, missingJumps, renderRules, saveTables, type Jump } from './iptables.ts';
import type { IptablesHostFeatures } from '../iptables/host-features.ts';
import { cidrsOfFamily, familyOf, type IPFamily } from '../endpoints/node-port-addresses.ts';
import { VirtualServers } from './virtual-servers.ts';
import { SyncHousekeeping } from '../endpoints/sync-housekeeping.ts';

const log = createLogger('ipvs');

/**
 * Partial syncs trust the proxier's model of the kernel; a full sync re-reads
 * the kernel at least this often (kube-proxy's FullSyncPeriod), repairing
 * anything changed behind the proxier's back.
 */
const FULL_SYNC_INTERVAL_MS = 60 * 60_000;

export interface IpvsProxierOptions {
  /** How often terminating real servers are checked for deletion. */
  readonly gracefulCheckIntervalMs?: number;
  /** A terminating real server is deleted after this long even with connections left. */
  readonly gracefulTimeoutMs?: number;
  readonly registry?: Registry;
  /** The iptables binaries; by default those of config.iptablesBackend (createProxier detects it when unset). */
  readonly runner?: IptablesRunner;
  /** `kubeproxy_sync_proxy_rules_iptables_restore_failures_total`, counted when iptables-restore fails. */
  readonly restoreFailures?: { inc(): void };
  /** What this node's iptables offers (createProxier detects it at start); by default no --random-fully. */
  readonly hostFeatures?: IptablesHostFeatures;
  /** Listen address of health check node ports (default 0.0.0.0, '::' for IPv6). */
  readonly healthHost?: string;
  /** The IP family this proxier programs (one proxier per family on a dual-stack node); 4 by default. */
  readonly family?: IPFamily;
  /** IPVS, rtnetlink, ipset, sysctls and conntrack; the node's own by default (unit tests give fakes). */
  readonly host?: IpvsHost;
}

/**
 * IpvsProxier is kube-proxy's IPVS mode over Ferry's own netlink bindings.
 * A full sync (the first, after a failure, and every resync) reads the
 * kernel's virtual servers and kube-ipvs0 addresses and rebuilds ipsets and
 * rules, deleting every virtual server of its family it does not want unless
 * its address lies in `--ipvs-exclude-cidrs` (kube-proxy's cleanLegacyService);
 * a partial sync recomputes only the changed service ports and sends
 * only the operations they need. All operations go out in netlink batches.
 */
export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs';
  private readonly config: ProxyConfig;
  private readonly iptables: IptablesRunner;
  private ipvs: IpvsOps | undefined;
  private rt: RouteOps | undefined;
  private readonly host: IpvsHost;
  private readonly health: ServiceHealthServer;
  private readonly housekeeping: SyncHousekeeping;
  private lastSyncOk = false;
  /** Set once canUseIpvs passed (kube-proxy checks at start; here before the first full sync). */
  private usable = false;
  private needFull = true;
  private lastFullAt = 0;
  /** The node IPs the last full sync worked NodePort addresses out from (joined). */
  private lastNodeIPs = '';
  private linkIndex = 0;
  private nodeIPs: string[] = [];
  private hostAddresses = new Set<string>();
  private primaryNodeIP: string | undefined;
  private readonly randomFully: boolean;
  readonly family: IPFamily;
  /** The proxy loop builds this family's snapshots for it. */
  readonly ipFamilies: readonly IPFamily[];
  private desired = new DesiredIndex();
  private readonly virtualServers: VirtualServers;
  private lastRules = '';
  private readonly checkIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly restoreFailures: { inc(): void } | undefined;

  constructor(config: ProxyConfig, options: IpvsProxierOptions = {}) {
    this.config = config;
    this.family = options.family ?? 4;
    this.ipFamilies = [this.family];
    this.iptables = options.runner ?? createRunner(config.iptablesBackend ?? 'nft', this.family);
    this.checkIntervalMs = options.gracefulCheckIntervalMs ?? 2_000;
    this.restoreFailures = options.restoreFailures;
    this.randomFully = options.hostFeatures?.randomFully ?? false;
    this.host = options.host ?? REAL_HOST;
    this.health = new ServiceHealthServer(options.healthHost ?? healthHostOf(this.family), () => this.lastSyncOk);
    this.housekeeping = new SyncHousekeeping(this.health, log, this.host.conntrack);
    const registers = options.registry ? [options.registry] : undefined;
    this.virtualServers = new VirtualServers({
      family: this.family,
      excludeCIDRs: cidrsOfFamily(this.family, config.ipvsExcludeCIDRs),
      gracefulTimeoutMs: options.gracefulTimeoutMs ?? 15 * 60_000,
      ...(registers && {
        opsCounter: new Counter({ name: 'kubeproxy_sync_proxy_rules_ipvs_operations_total', help: 'IPVS netlink operations sent, by kind', labelNames: ['op'], registers }),
        terminatingGauge: new Gauge({ name: 'kubeproxy_ipvs_terminating_real_servers', help: 'Real servers at weight 0 waiting for their connections to end', registers }),
      }),
    });
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async open(): Promise<{ ipvs: IpvsOps; rt: RouteOps }> {
    this.ipvs ??= await this.host.openIpvs();
    this.rt ??= this.host.openRoute();
    return { ipvs: this.ipvs, rt: this.rt };
  }

  sync(state: ProxyState): Promise<SyncResult> {
    return this.locked(async () => {
      // NodePort addresses are worked out on full syncs; `--nodeport-addresses primary` follows the Node's IPs.
      const nodeIPs = (state.nodeIPs ?? []).join(',');
      const full = this.needFull || Date.now() - this.lastFullAt >= FULL_SYNC_INTERVAL_MS || nodeIPs !== this.lastNodeIPs;
      try {
        const stats = full ? await this.fullSync(state) : await this.partialSync(state);
        this.needFull = false;
        if (full) {
          this.lastFullAt = Date.now();
          this.lastNodeIPs = nodeIPs;
        }
        this.startChecker();
        this.lastSyncOk = true;
        await this.housekeeping.afterSync(state);
        return { ok: true, full, stats };
      } catch (e) {
        this.needFull = true;
        this.lastSyncOk = false;
        log.error('Sync failed; the next sync is a full one', { err: e });
        return { ok: false, error: e instanceof Error ? e : new Error(getErrorMessage(e)) };
      }
    });
  }

  private options() {
    return { scheduler: this.config.ipvsScheduler, nodeIPs: this.nodeIPs, hostAddresses: this.hostAddresses, primaryNodeIP: this.primaryNodeIP };
  }

  private async fullSync(state: ProxyState): Promise<Record<string, number>> {
    const { ipvs, rt } = await this.open();
    if (!this.usable) await canUseIpvs(probeOps(ipvs), this.host.ipsetVersion, this.config.ipvsScheduler);
    this.usable = true;
    const phase = phaseTimer();
    await this.host.applySysctls();
    const { ipvsTcpTimeoutMs: tcp, ipvsTcpFinTimeoutMs: fin, ipvsUdpTimeoutMs: udp } = this.config;
    if (tcp || fin || udp) await ipvs.setTimeouts({ tcp: Math.round(tcp / 1000), tcpFin: Math.round(fin / 1000), udp: Math.round(udp / 1000) });
    this.linkIndex = await this.ensureLink(rt);
    const allAddresses = await rt.listAddresses();
    this.nodeIPs = nodePortAddresses(allAddresses, this.linkIndex, this.config.nodePortAddresses, state.nodeIPs);
    // kube-ipvs0 holds both families' service addresses: each family's proxier minds its own.
    const bound = new Set(allAddresses.filter((a) => a.index === this.linkIndex && familyOf(a.address) === this.family).map((a) => a.address));
    this.hostAddresses = new Set(allAddresses.filter((a) => a.index !== this.linkIndex).map((a) => a.address));
    this.primaryNodeIP = state.nodeIPs?.find((ip) => familyOf(ip) === this.family);
    phase('host');

    this.desired = new DesiredIndex();
    const touched = new Set<string>();
    for (const key of state.services.keys()) this.desired.update(key, state, this.options(), touched);
    this.desired.addresses.drain();
    this.desired.setEntries.drain();
    phase('desired');

    await this.virtualServers.read(ipvs, this.desired.virtualServers);
    // kube-proxy's cleanLegacyService: any of this family's not wanted goes, unless excluded (VirtualServers.apply).
    for (const key of this.virtualServers.keys()) touched.add(key);
    phase('readKernel');

    const want = new Set(this.desired.addresses.keys());
    const addAddrs = [...want].filter((a) => !bound.has(a));
    const delAddrs = [...bound].filter((a) => !want.has(a) && !a.toLowerCase().startsWith('fe80'));
    await this.applyAddresses(addAddrs, true);
    phase('addresses');
    const ops = await this.virtualServers.apply(ipvs, this.desired.virtualServers, touched);
    phase('ipvs');
    const entries = this.desired.entriesBySet();
    await this.host.ipsetRestore(renderFullRestore((set) => entries.get(set) ?? [], this.family));
    phase('ipset');
    const saved = await saveTables(this.iptables);
    const legacy = legacyFilterCleanup(saved);
    // The jumps are nearly always in place already: then the text partial syncs compare with is the one restored.
    const [rules, jumps] = [this.rules([]), missingJumps(saved)];
    await this.restore(jumps.length > 0 ? this.rules(jumps) : rules);
    if (legacy) await this.restore(legacy);
    this.lastRules = rules;
    phase('iptables');
    await this.applyAddresses(delAddrs, false);
    return { ...this.stats(ops, addAddrs.length + delAddrs.length), ...phase.done() };
  }

  private async partialSync(state: ProxyState): Promise<Record<string, number>> {
    const phase = phaseTimer();
    const touched = new Set<string>();
    for (const key of state.changed) this.desired.update(key, state, this.options(), touched);
    const addrs = this.desired.addresses.drain();
    phase('desired');
    await this.applyAddresses(addrs.appeared, true);
    const ops = await this.virtualServers.apply(this.ipvs!, this.desired.virtualServers, touched);
    phase('ipvs');
    const sets = this.desired.setEntries.drain();
    await this.host.ipsetRestore(renderDelta(sets.appeared.map(splitSetKey), sets.vanished.map(splitSetKey), this.family));
    // The rules follow REJECT targets, load balancer node access and which sets are empty.
    const rules = this.rules([]);
    if (rules !== this.lastRules) await this.restore(rules);
    this.lastRules = rules;
    await this.applyAddresses(addrs.vanished, false);
    phase('rules');
    return { ...this.stats(ops, addrs.appeared.length + addrs.vanished.length), ...phase.done() };
  }

  private stats(ipvsOps: number, addressOps: number): Record<string, number> {
    return { virtualServers: this.desired.virtualServers.size, realServers: this.desired.realServers, ipvsOps, addressOps, terminating: this.virtualServers.terminating() };
  }

  private async restore(text: string): Promise<void> {
    try {
      await this.iptables.restore(text);
    } catch (e) {
      this.restoreFailures?.inc();
      throw e;
    }
  }

  private rules(jumps: readonly Jump[]): string {
    const c = this.config;
    const d = this.desired;
    return renderRules({
      masqueradeAll: c.masqueradeAll, clusterCIDRs: c.clusterCIDRs, masqueradeBit: c.masqueradeBit, randomFully: this.randomFully,
      setSize: (set) => d.setSize(set), noNodeAccess: d.noNodeAccess(), rejects: d.rejects(), jumps, family: this.family,
    });
  }

  private async ensureLink(rt: RouteOps): Promise<number> {
    const existing = await rt.linkIndex(DUMMY_LINK);
    if (existing !== undefined) return existing;
    await rt.createDummyLink(DUMMY_LINK);
    const index = await rt.linkIndex(DUMMY_LINK);
    if (index === undefined) throw new Error(`${DUMMY_LINK} vanished right after it was created`);
    return index;
  }

  private async applyAddresses(addresses: readonly string[], add: boolean): Promise<void> {
    if (addresses.length === 0 || !this.rt) return;
    const ops = addresses.map((address) => ({ add, address: { index: this.linkIndex, address, prefixLength: address.includes(':') ? 128 : 32 } }));
    const errors = (await this.rt.applyAddresses(ops)).filter((e): e is NetlinkError => {
      // Already bound / already gone is the state we wanted.
      return e !== undefined && !isErrno(e, add ? 'EEXIST' : 'EADDRNOTAVAIL');
    });
    if (errors.length) throw new IpvsSyncError(errors);
  }

  private startChecker(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.locked(async () => this.ipvs && (await this.virtualServers.checkTerminating(this.ipvs))), this.checkIntervalMs);
    this.timer.unref();
  }

  cleanup(): Promise<void> {
    return this.locked(async () => {
      const kernel = { ipvs: async () => (this.ipvs ??= await this.host.openIpvs()), rt: (this.rt ??= this.host.openRoute()) };
      await removeIpvsLeftovers(kernel, [this.iptables], this.host);
      this.virtualServers.forget();
      this.desired = new DesiredIndex();
      this.lastRules = '';
      this.needFull = true;
    });
  }

  close(): Promise<void> {
    return this.locked(async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await this.health.close();
      this.ipvs?.close();
      this.rt?.close();
      this.ipvs = undefined;
      this.rt = undefined;
      this.needFull = true;
    });
  }
}
