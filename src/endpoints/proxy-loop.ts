import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';
import type { ProxierHealth } from './healthz.ts';
import { Informer } from '../client/informer.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Proxier } from './proxier.ts';
import type { ProxyState } from './proxy-state.ts';
import { ProxyStateBuilder } from './state-builder.ts';
import { byNamespace, byServiceName } from '../client/store.ts';
import { SyncRunner } from './sync-runner.ts';
import { nodeHostIPs } from './node-port-addresses.ts';
import { countNoLocalEndpoints } from './topology.ts';

const log = createLogger('proxy');

/** PROXY_LABEL_SELECTOR is kube-proxy's: skip objects owned by another proxy, and headless services. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface ProxyLoopOptions {
  readonly client: ApiClient;
  readonly proxier: Proxier;
  readonly nodeName: string;
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  /** `--config-sync-period`: informer resync (default 15 m in kube-proxy). */
  readonly configSyncPeriodMs: number;
  readonly metrics: ProxyMetrics;
  readonly health: ProxierHealth;
  readonly clock?: Clock;
  /** Informer back-off override (tests). */
  readonly backoff?: ConstructorParameters<typeof Informer>[0]['backoff'];
  /** Called after each successful sync with the snapshot it applied. */
  readonly onSynced?: (state: ProxyState) => void;
}

/**
 * ProxyLoop is the watcher of `ferry proxy`: Service, EndpointSlice and Node
 * informers feed the change trackers; each change asks the SyncRunner for a
 * sync, which builds a ProxyState and hands it to the backend. Syncs start
 * only once Services and EndpointSlices have both synced. A proxier of
 * several IP families (a MetaProxier) gets one snapshot per family, each
 * from a builder of its own; the metrics and health stay one. As with
 * kube-proxy's per-family proxiers, a requested sync reaches only the
 * families with changes (or whose last sync failed, or is a --sync-period
 * old): an IPv4 endpoint change does not resync an idle IPv6 table.
 */
export class ProxyLoop {
  readonly services: Informer<Service>;
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly node: Informer<Node>;
  /** One builder per family of the proxier, primary first. */
  readonly builders: readonly ProxyStateBuilder[];
  readonly runner: SyncRunner;
  readonly #o: ProxyLoopOptions;
  readonly #clock: Clock;
  #lastState: ProxyState | undefined;
  #stopped = false;
  /** Families with changes not yet synced (or whose last sync failed). */
  readonly #dirty: Set<ProxyStateBuilder>;
  /** When each family last synced successfully. */
  readonly #lastSynced = new Map<ProxyStateBuilder, number>();

  constructor(options: ProxyLoopOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.builders = (options.proxier.ipFamilies ?? [4]).map((family) => new ProxyStateBuilder(options.nodeName, family));
    this.#dirty = new Set(this.builders);
    const common = { client: options.client, resyncPeriodMs: options.configSyncPeriodMs, backoff: options.backoff };
    this.services = new Informer<Service>({ ...common, resource: resources.services, labelSelector: PROXY_LABEL_SELECTOR, indexers: { namespace: byNamespace } });
    this.endpointSlices = new Informer<EndpointSlice>({ ...common, resource: resources.endpointslices, labelSelector: PROXY_LABEL_SELECTOR, indexers: { namespace: byNamespace, service: byServiceName } });
    this.node = new Informer<Node>({ ...common, resource: resources.nodes, fieldSelector: `metadata.name=${options.nodeName}` });
    this.runner = new SyncRunner({ fn: (periodic) => this.#sync(periodic), minIntervalMs: options.minSyncPeriodMs, maxIntervalMs: options.syncPeriodMs, clock: this.#clock });
    this.services.addHandlers({
      onAdd: (s) => this.#serviceChange(undefined, s),
      onUpdate: (a, b) => this.#serviceChange(a, b),
      onDelete: (s) => this.#serviceChange(s, undefined),
    });
    this.endpointSlices.addHandlers({
      onAdd: (s) => this.#sliceChange(s, false),
      onUpdate: (_a, b) => this.#sliceChange(b, false),
      onDelete: (s) => this.#sliceChange(s, true),
    });
    this.node.addHandlers({
      onAdd: (n) => this.#nodeChange(n),
      onUpdate: (_a, n) => this.#nodeChange(n),
      onDelete: (n) => this.#nodeChange({ ...n, metadata: { ...n.metadata, deletionTimestamp: n.metadata?.deletionTimestamp ?? new Date().toISOString() } }),
    });
  }

  /** The primary family's snapshot of the last successful sync. */
  get lastState(): ProxyState | undefined {
    return this.#lastState;
  }

  /** start runs the informers and starts syncing once Services and EndpointSlices have synced. */
  start(): void {
    this.services.start();
    this.endpointSlices.start();
    this.node.start();
    void Promise.all([this.services.synced, this.endpointSlices.synced]).then(() => {
      if (this.#stopped) return;
      log.info(2, 'Services and EndpointSlices synced, starting syncs', { services: this.services.store.size, endpointSlices: this.endpointSlices.store.size });
      this.runner.start();
    });
  }

  /** stop ends the informers and the runner (waiting for a running sync); idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.services.stop(), this.endpointSlices.stop(), this.node.stop()]);
    await this.runner.stop();
  }

  #serviceChange(previous: Service | undefined, current: Service | undefined): void {
    this.#o.metrics.serviceChangesTotal.inc();
    const pending = this.#changed((builder) => builder.onServiceChange(previous, current));
    this.#setPendingGauges();
    if (pending) this.#queue();
  }

  #sliceChange(slice: EndpointSlice, removed: boolean): void {
    this.#o.metrics.endpointChangesTotal.inc();
    const changed = this.#changed((builder) => builder.onEndpointSliceChange(slice, removed));
    this.#setPendingGauges();
    if (changed) this.#queue();
  }

  #nodeChange(node: Node): void {
    this.#o.health.syncNode(node);
    const changed = this.#changed((builder) => {
      const labelsChanged = builder.setNodeLabels(node.metadata?.labels);
      return builder.setNodeIPs(nodeHostIPs(node)) || labelsChanged;
    });
    if (changed) this.#queue();
  }

  /** #changed feeds an event to every family's builder and marks those it changed; true when any. */
  #changed(feed: (builder: ProxyStateBuilder) => boolean): boolean {
    let any = false;
    for (const builder of this.builders) {
      if (!feed(builder)) continue;
      this.#dirty.add(builder);
      any = true;
    }
    return any;
  }

  /** #due: a periodic sync reaches every family, a requested one those with changes, a failed last sync, or a sync a --sync-period old. */
  #due(builder: ProxyStateBuilder, periodic: boolean, now: number): boolean {
    return periodic || this.#dirty.has(builder) || now - (this.#lastSynced.get(builder) ?? -Infinity) >= this.#o.syncPeriodMs;
  }

  /** The *_changes_pending gauges: the most any family has pending (a dual-stack service is pending in both). */
  #setPendingGauges(): void {
    const counts = this.builders.map((b) => b.pendingCounts());
    this.#o.metrics.serviceChangesPending.set(Math.max(...counts.map((c) => c.services)));
    this.#o.metrics.endpointChangesPending.set(Math.max(...counts.map((c) => c.endpoints)));
  }

  #queue(): void {
    this.#o.health.queuedUpdate();
    this.#o.metrics.lastQueuedTimestamp.set(this.#clock.now() / 1000);
    this.runner.run();
  }

  #publishNoLocalEndpoints(state: ProxyState): void {
    const counts = countNoLocalEndpoints(state.services.values(), (key) => state.endpoints.get(key) ?? []);
    this.#o.metrics.noLocalEndpoints.set({ traffic_policy: 'internal' }, counts.internal);
    this.#o.metrics.noLocalEndpoints.set({ traffic_policy: 'external' }, counts.external);
  }

  /**
   * One sync: each due family's snapshot to the proxier in turn (see #due).
   * Never throws; a failure is logged, counted and retried by the runner. A
   * family that synced forgets its changes even when another failed: the
   * retry then redoes only the failed one's.
   */
  async #sync(periodic: boolean): Promise<boolean> {
    const { metrics, health, proxier } = this.#o;
    const started = performance.now();
    const synced: Array<{ state: ProxyState; full: boolean; stats: Record<string, number> | undefined; triggers: number[] }> = [];
    let failure: Error | undefined;
    const startedAt = this.#clock.now();
    for (const builder of this.builders) {
      if (!this.#due(builder, periodic, startedAt)) continue;
      // Cleared before building: a change arriving during the sync marks the family again.
      this.#dirty.delete(builder);
      const state = builder.build();
      const result = await proxier.sync(state).catch((error: unknown) => ({ ok: false as const, error: error as Error }));
      if (!result.ok) {
        log.error('Sync failed, retrying', { mode: proxier.mode, family: `IPv${state.ipFamily ?? 4}`, err: getErrorMessage(result.error) });
        this.#dirty.add(builder);
        failure ??= result.error;
        continue;
      }
      this.#lastSynced.set(builder, startedAt);
      synced.push({ state, full: result.full, stats: result.stats, triggers: builder.syncSucceeded() });
    }
    this.#setPendingGauges();
    const seconds = (performance.now() - started) / 1000;
    const now = this.#clock.now();
    for (const { triggers } of synced) for (const t of triggers) metrics.networkProgrammingDuration.observe(Math.max(0, now - t) / 1000);
    if (failure) {
      metrics.syncFailuresTotal.inc();
      health.queuedUpdate();
      return false;
    }
    health.updated();
    if (synced.length === 0) return true; // the change that asked for this run was synced by the one before
    const full = synced.some((s) => s.full);
    metrics.syncDuration.observe(seconds);
    (full ? metrics.syncFullDuration : metrics.syncPartialDuration).observe(seconds);
    metrics.lastSyncTimestamp.set(now / 1000);
    for (const { state, full: stateFull, stats } of synced) {
      log.info(4, 'Synced proxy rules', { mode: proxier.mode, family: `IPv${state.ipFamily ?? 4}`, full: stateFull, services: state.services.size, changed: state.changed.size, seconds: seconds.toFixed(3), ...stats });
    }
    const primary = synced.find((s) => s.state.ipFamily === this.builders[0]!.ipFamily);
    if (!primary) return true;
    // One gauge per process: the primary family's services (a dual-stack one would count twice).
    this.#publishNoLocalEndpoints(primary.state);
    this.#lastState = primary.state;
    this.#o.onSynced?.(primary.state);
    return true;
  }
}
