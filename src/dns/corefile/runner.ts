import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ApiClient } from '../../client/api-client.ts';
import { createLogger } from '../../util/log.ts';
import { getErrorMessage } from '../../util/errors.ts';
import type { ApiClientMetrics } from '../client-metrics.ts';
import type { Upstream } from '../forward.ts';
import { InformerFeed } from '../informers.ts';
import { ClientPods } from '../metadata.ts';
import { boundIPs } from '../ns.ts';
import { RecordIndex } from '../records.ts';
import type { DnsHandler } from '../handler.ts';
import type { PacketHandler } from '../packet-handler.ts';
import { DnsServer } from '../server.ts';
import { parseUpstream, resolvConfUpstreams, withoutSelf } from '../upstream.ts';
import { needsChain, PluginChain, ZoneDispatch, type ZoneBlock } from './chain.ts';
import { CorefileError } from './errors.ts';
import { HostsTable } from './hosts.ts';
import { K8sExternal } from '../k8s-external.ts';
import { ExternalTransfer } from '../k8s-external-transfer.ts';
import { parseCorefile } from './parse.ts';
import { handlerZones, type KubernetesConfig } from './kubernetes.ts';
import { serverConfig, type ServerConfig } from './plugins.ts';
import { scopedController } from './scoped-controller.ts';

const log = createLogger('dns');

/** loadCorefile parses and checks a Corefile into one ServerConfig per server block. Throws CorefileError naming `file`. */
export function loadCorefile(text: string, file = 'Corefile'): ServerConfig[] {
  try {
    return checkServers(parseCorefile(text).map((b) => serverConfig(b)));
  } catch (error) {
    throw error instanceof CorefileError && file !== 'Corefile' ? new CorefileError(error.line, error.detail, file) : error;
  }
}

/** ApiConnection is how the kubernetes plugin reaches the API server (`endpoint`, `kubeconfig`); both undefined: the command's flags. */
export type ApiConnection = Pick<KubernetesConfig, 'endpoint' | 'kubeconfig'> & { readonly apiLimits?: KubernetesConfig['apiLimits'] };

/** apiConnection is the Corefile's way to the API server (one for every block: checkServers sees to it). */
export function apiConnection(configs: readonly ServerConfig[]): ApiConnection {
  const k = configs.find((c) => c.kubernetes)?.kubernetes;
  return { endpoint: k?.endpoint, kubeconfig: k?.kubeconfig, apiLimits: k?.apiLimits };
}

/**
 * k8sExternalPlugin is a block's `k8s_external` plugin over `index`, a step of its chain (it answers its
 * zones before the kubernetes plugin, as in CoreDNS's plugin order); undefined when the block has none.
 */
export function k8sExternalPlugin(c: ServerConfig, index: RecordIndex, localIPs: readonly string[]): K8sExternal | undefined {
  const k = c.kubernetes;
  if (!c.k8sExternal || !k) return undefined;
  // Upstream's External reads the Service index itself: `ignore empty_service` does not hide a Service there.
  const controller = scopedController(index, { ...k, ignoreEmptyService: false });
  return new K8sExternal(c.k8sExternal, { controller, localIPs, externalModified: () => index.externalModified(), servicesByExternalIP: (ip) => index.servicesByExternalIP(ip) });
}

function checkServers(configs: ServerConfig[]): ServerConfig[] {
  // One client serves every block: the blocks that say how to reach the API server must say the same.
  const connections = new Set(configs.filter((c) => c.kubernetes).map((c) => JSON.stringify(apiConnection([c]))));
  if (connections.size > 1) throw new CorefileError(0, 'plugin/kubernetes: different endpoint, kubeconfig or apiserver_* limits in two server blocks is not implemented by ferry');
  // One watch serves every block: its label selectors must be the same in each.
  const selectors = new Set(configs.filter((c) => c.kubernetes).map((c) => `${c.kubernetes!.labels}|${c.kubernetes!.namespaceLabels}`));
  if (selectors.size > 1) throw new CorefileError(0, 'plugin/kubernetes: different labels or namespace_labels in two server blocks is not implemented by ferry');
  const orphan = configs.find((c) => c.k8sExternal && !c.kubernetes);
  if (orphan) throw new CorefileError(0, 'plugin/k8s_external: kubernetes plugin not loaded');
  const served = new Set<string>();
  for (const c of configs) {
    if (c.bind.length > 1) throw new CorefileError(0, 'plugin/bind: more than one address is not implemented by ferry');
    for (const zone of c.zones) {
      const key = `dns://${zone}:${c.port}${c.bind[0] ? ` on ${c.bind[0]}` : ''}`;
      if (c.port !== 0 && served.has(key)) throw new CorefileError(0, `cannot serve ${key} - it is already defined`);
      served.add(key);
    }
  }
  return configs;
}

/** upstreamsOf reads `forward . TO...`: addresses, and resolv.conf files read now. */
function upstreamsOf(c: ServerConfig, readText: (path: string) => string): Upstream[] {
  if (!c.forward) return [];
  return c.forward.to.flatMap((to) => (to.startsWith('/') ? resolvConfUpstreams(readText(to)) : [parseUpstream(to.replace(/^dns:\/\//, ''))]));
}

export interface CorefileRunnerOptions {
  readonly client: ApiClient;
  /** `--forward-allow`: clients whose outside names are forwarded. */
  readonly forwardAllow: string[];
  /** The API client's request metrics, for every server's /metrics. */
  readonly clientMetrics?: ApiClientMetrics;
  /** Reads resolv.conf files named by `forward`; a missing one reads as empty. */
  readonly readText?: (path: string) => string;
}

const readOrEmpty = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * CorefileRunner serves a Corefile: one DnsServer per server block over one
 * shared record index and its informers. With `reload`, the file is checked
 * every interval (plus jitter) and, when its content changed, read again:
 * a Corefile that does not parse, check or start is logged and the running
 * servers keep serving, as CoreDNS's reload does.
 */
export class CorefileRunner {
  readonly #o: CorefileRunnerOptions;
  readonly #path: string | undefined;
  #index = new RecordIndex({ watchNamespaces: true });
  /** The label selectors the index was filled with: other selectors need an empty index. */
  #selectors = '|';
  #feed: InformerFeed | undefined;
  #feedMode: string | undefined;
  /** Pods by address for the kubernetes plugin's client metadata; filled only while a `metadata` + `log` block needs it. */
  readonly #clientPods = new ClientPods();
  #servers: DnsServer[] = [];
  #hosts: HostsTable[] = [];
  #configs: ServerConfig[] = [];
  #digest = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CorefileRunnerOptions, path?: string) {
    this.#o = options;
    this.#path = path;
  }

  /** servers are the running DnsServers, one per server block (on a shared port, the one that listens last). */
  get servers(): readonly DnsServer[] {
    return this.#servers;
  }

  /** start serves `text`; throws (CorefileError, a bind failure) and leaves nothing running if it cannot. */
  async start(text: string): Promise<void> {
    const configs = loadCorefile(text, this.#path);
    await this.#serve(configs);
    this.#digest = digest(text);
    this.#scheduleReload();
  }

  async #serve(configs: ServerConfig[]): Promise<void> {
    const k0 = configs.find((c) => c.kubernetes)?.kubernetes;
    const selectors = k0 ? `${k0.labels}|${k0.namespaceLabels}` : '|';
    if (selectors !== this.#selectors) {
      // Objects outside the new selectors would stay in the index (no delete comes for them): start from an empty one.
      await this.#feed?.stop();
      this.#feed = undefined;
      this.#feedMode = undefined;
      this.#index = new RecordIndex({ watchNamespaces: true });
      this.#selectors = selectors;
    }
    const podMode: 'verified' | 'insecure' = configs.some((c) => c.kubernetes?.podMode === 'verified') ? 'verified' : 'insecure';
    const startupTimeoutMs = Math.max(0, ...configs.map((c) => c.kubernetes?.startupTimeoutMs ?? 0));
    if (startupTimeoutMs > 0 && k0) {
      // `startup_timeout`: as CoreDNS, listen only once the informers have synced, or the timeout has passed.
      await this.#watch(configs, podMode, selectors);
      await this.#waitForSync(startupTimeoutMs);
    }
    const readText = this.#o.readText ?? readOrEmpty;
    const started: DnsServer[] = [];
    const hostsTables: HostsTable[] = [];
    try {
      for (const group of byAddress(configs)) {
        // Blocks sharing an address: the first listens and hands each query to the block of its zone.
        const [listener, ...others] = group;
        const blocks: ZoneBlock[] = [];
        for (const c of others) {
          const server = await this.#startBlock(c, readText, hostsTables, { listen: false });
          started.push(server);
          blocks.push({ zones: c.zones, entry: server.entry });
        }
        started.push(await this.#startBlock(listener!, readText, hostsTables, { dispatchTo: blocks }));
      }
    } catch (error) {
      for (const h of hostsTables) h.stop();
      await Promise.all(started.map((s) => s.close()));
      if (this.#servers.length === 0) {
        // Nothing serves (a first start, or a reload that stopped the old servers): no watch either, until a start succeeds.
        await this.#feed?.stop();
        this.#feed = undefined;
        this.#feedMode = undefined;
      }
      throw error;
    }
    this.#servers = started;
    this.#hosts = hostsTables;
    this.#configs = configs;
    if (!configs.some((c) => c.kubernetes)) {
      // No cluster zone to serve (a forwarder, hosts): nothing to watch, and /ready has nothing to wait for.
      await this.#feed?.stop();
      this.#feed = undefined;
      this.#feedMode = undefined;
      this.#index.markSynced();
      return;
    }
    await this.#watch(configs, podMode, selectors);
  }

  /** #watch starts the informers the configs need, unless the running ones already are those. */
  async #watch(configs: ServerConfig[], podMode: 'verified' | 'insecure', selectors: string): Promise<void> {
    const k0 = configs.find((c) => c.kubernetes)?.kubernetes;
    const keepPodNames = configs.some((c) => c.kubernetes?.endpointPodNames);
    const keepZones = configs.some((c) => c.kubernetes?.zonal);
    const multicluster = configs.some((c) => (c.kubernetes?.multiclusterZones.length ?? 0) > 0);
    // Client pods (name, labels) are kept only for a block whose `log` can read `metadata`, in verified mode.
    const clientPods = podMode === 'verified' && configs.some((c) => c.metadata && c.log);
    const mode = `${podMode}/${keepPodNames}/${keepZones}/${multicluster}/${clientPods}/${selectors}`;
    if (this.#feedMode !== mode) {
      // Pods are only watched in verified mode, pod names and zones kept only for endpoint_pod_names and zonal, imports
      // for multicluster, selectors go to the API: each change needs other informers.
      await this.#feed?.stop();
      this.#clientPods.clear();
      this.#feed = new InformerFeed(this.#o.client, this.#index, podMode, {
        keepPodNames, keepZones, multicluster, labels: k0?.labels, namespaceLabels: k0?.namespaceLabels, ...(clientPods ? { clientPods: this.#clientPods } : {}),
      });
      this.#feedMode = mode;
      this.#feed.start();
    }
  }

  /** #waitForSync resolves once the index has synced, or after `ms` with a warning (CoreDNS's startup_timeout). */
  async #waitForSync(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.#index.hasSynced()) {
      if (Date.now() >= deadline) {
        log.warn('Starting the server with the Kubernetes API not synced', { startupTimeout: `${ms}ms` });
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** #startBlock starts one server block's DnsServer; `dispatchTo` are the other blocks on its port. */
  async #startBlock(c: ServerConfig, readText: (path: string) => string, hostsTables: HostsTable[], o: { listen?: false; dispatchTo?: ZoneBlock[] }): Promise<DnsServer> {
    const host = c.bind[0] ?? '0.0.0.0';
    const { kept: upstreams, dropped } = withoutSelf(upstreamsOf(c, readText), { host, port: c.port });
    for (const u of dropped) log.warn('Not forwarding to this server itself (loop)', { upstream: `${u.address}:${u.port}` });
    if (c.forward && upstreams.length === 0) log.warn('No upstream resolver: names outside the cluster answer SERVFAIL');
    const hosts = c.hosts ? new HostsTable(c.hosts) : undefined;
    if (hosts) hostsTables.push(hosts);
    await hosts?.start();
    const k = c.kubernetes;
    const chained = needsChain(c);
    const dispatch = (o.dispatchTo?.length ?? 0) > 0;
    const localIPs = boundIPs(host);
    const k8sExternal = k8sExternalPlugin(c, this.#index, localIPs);
    const externalTransfer = k8sExternal && c.transfer ? new ExternalTransfer(c.transfer, k8sExternal, c.k8sExternal!.zones, c.k8sExternal!.headless) : undefined;
    const own = (h: DnsHandler): PacketHandler => (chained ? new PluginChain(h, c, { hosts, k8sExternal, clientPods: this.#clientPods }) : h);
    const server = await DnsServer.start({
      controller: k ? scopedController(this.#index, k) : this.#index,
      host,
      port: c.port,
      // Without `kubernetes` the block serves no cluster zone.
      ...handlerZones(k),
      ttl: k?.ttl ?? 5,
      podMode: k?.podMode ?? 'disabled',
      zonal: k?.zonal ?? false,
      upstreams,
      forwardAllow: this.#o.forwardAllow,
      localIPs,
      healthAddress: c.health?.address ?? '',
      readyAddress: c.ready ?? '',
      metricsAddress: c.prometheus ?? '',
      forwardCacheSize: c.cache?.capacity ?? 0,
      forwardMaxTtl: c.cache?.successTtl,
      forwardMaxNegativeTtl: c.cache?.denialTtl,
      forwardMinTtl: c.cache?.minTtl,
      forwardPolicy: c.forward?.policy,
      ...(this.#o.clientMetrics ? { clientMetrics: this.#o.clientMetrics } : {}),
      ...(c.transfer && k ? { transfer: c.transfer } : {}),
      ...(externalTransfer ? { moreTransfers: externalTransfer } : {}),
      ...(o.listen === false ? { listen: false } : {}),
      ...(chained || dispatch ? { wrapHandler: (h: DnsHandler) => (dispatch ? new ZoneDispatch([{ zones: c.zones, entry: own(h) }, ...o.dispatchTo!]) : own(h)) } : {}),
      // `log` sees every query: the batched worker must not answer one by itself.
      ...(c.log ? { batchable: () => false } : c.loadbalance ? { batchable: (r: Buffer) => r.readUInt16BE(6) < 2 } : {}),
    });
    log.info(0, 'Serving DNS', {
      listen: `${host}:${server.port}`, zones: c.zones.join(','), zone: k?.zone, pods: k?.podMode,
      upstreams: upstreams.map((u) => `${u.address}:${u.port}`).join(',') || 'none', apiserver: this.#o.client.server, ...server.httpAddresses,
    });
    return server;
  }

  #scheduleReload(): void {
    const reload = this.#configs.find((c) => c.reload)?.reload;
    clearTimeout(this.#timer);
    if (!reload || this.#path === undefined || this.#closed) return;
    const delay = reload.intervalMs + (Math.random() * 2 - 1) * reload.jitterMs;
    this.#timer = setTimeout(() => void this.#reload().finally(() => this.#scheduleReload()), delay);
    this.#timer.unref();
  }

  /** #reload reads the file; on a change it stops the servers and starts the new ones, or else restarts the old ones. */
  async #reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path!, 'utf8');
    } catch (error) {
      log.error('Corefile reload failed: keeping the running configuration', { file: this.#path, err: getErrorMessage(error) });
      return;
    }
    const d = digest(text);
    if (d === this.#digest || this.#closed) return;
    let configs: ServerConfig[];
    try {
      configs = loadCorefile(text, this.#path);
    } catch (error) {
      log.error('Corefile reload failed: keeping the running configuration', { file: this.#path, err: getErrorMessage(error) });
      this.#digest = d; // logged once per bad edit, not every interval
      return;
    }
    if (JSON.stringify(apiConnection(configs)) !== JSON.stringify(apiConnection(this.#configs))) {
      // The client was made from them at start (src/cli/commands/dns.ts).
      log.error('Corefile reload failed: a new endpoint, kubeconfig or apiserver_* limit needs a restart; keeping the running configuration', { file: this.#path });
      this.#digest = d;
      return;
    }
    const previous = this.#configs;
    await this.#stopServers();
    try {
      await this.#serve(configs);
      this.#digest = d;
      log.info(0, 'Reloaded the Corefile', { file: this.#path, digest: d.slice(0, 16) });
    } catch (error) {
      log.error('Corefile reload failed to start: restoring the previous configuration', { file: this.#path, err: getErrorMessage(error) });
      this.#digest = d;
      try {
        await this.#serve(previous);
      } catch (again) {
        // Another process took a port in between: nothing serves now; the next edit of the file is tried again.
        log.error('Restoring the previous configuration failed', { file: this.#path, err: getErrorMessage(again) });
      }
    }
  }

  async #stopServers(): Promise<void> {
    for (const h of this.#hosts) h.stop();
    await Promise.all(this.#servers.map((s) => s.close()));
    this.#servers = [];
    this.#hosts = [];
  }

  /** close stops everything; `health { lameduck }` keeps serving that long first. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const lameduck = Math.max(0, ...this.#configs.map((c) => c.health?.lameduckMs ?? 0));
    if (lameduck > 0) {
      log.info(0, 'Going into lameduck mode', { duration: `${lameduck}ms` });
      await new Promise((r) => setTimeout(r, lameduck));
    }
    await this.#feed?.stop();
    await this.#stopServers();
  }
}

/** byAddress groups blocks by listen address and port, in file order; the block serving `.` (if any) comes first and listens. */
function byAddress(configs: ServerConfig[]): ServerConfig[][] {
  const groups = new Map<string, ServerConfig[]>();
  for (const c of configs) {
    const key = c.port === 0 ? `${groups.size}:0` : `${c.bind[0] ?? '0.0.0.0'}:${c.port}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((g) => [...g].sort((a, b) => Number(b.zones.includes('.')) - Number(a.zones.includes('.'))));
}

function digest(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}
