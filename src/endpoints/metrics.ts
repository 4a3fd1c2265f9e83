import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets, linearBuckets, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { IPFamily } from './node-port-addresses.ts';

/** ScrapedValue reads a value kept elsewhere (a kernel counter) when metrics are scraped; undefined: no sample. */
export type ScrapedValue = () => Promise<number | undefined>;

/**
 * ScrapedCounter is a counter whose value is read at each scrape rather
 * than counted here, like kube-proxy's nfacct collector: a value that cannot
 * be read gives no sample at all (not a 0 that would look like a reset).
 */
class ScrapedCounter extends Counter {
  readonly #read: ScrapedValue;

  constructor(name: string, help: string, registry: Registry, read: ScrapedValue) {
    super({ name, help, registers: [registry] });
    this.#read = read;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const [metric, value] = await Promise.all([super.get(), this.#read()]);
    return { ...metric, values: value === undefined ? [] : [{ value, labels: {} }] };
  }
}

/**
 * familySum is how a dual-stack node's two proxiers share one gauge: each
 * family's last value is kept (per label value) and the total of both is
 * reported, instead of whichever proxier synced last.
 */
export function familySum(report: (label: string, total: number) => void): (family: IPFamily, label: string, value: number) => void {
  const last = new Map<string, number>();
  return (family, label, value) => {
    last.set(`${family} ${label}`, value);
    report(label, (last.get(`4 ${label}`) ?? 0) + (last.get(`6 ${label}`) ?? 0));
  };
}

/**
 * BackendMetrics is the handle a backend gets at construction: the metrics
 * kube-proxy defines for backends, plus the registry for any a backend adds
 * itself. Backends never touch a global registry.
 */
export interface BackendMetrics {
  readonly registry: Registry;
  /** `kubeproxy_sync_proxy_rules_iptables_restore_failures_total`. */
  readonly iptablesRestoreFailures: Counter;
  /** `kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total`. */
  readonly iptablesPartialRestoreFailures: Counter;
  /** `kubeproxy_sync_proxy_rules_iptables_total{table}`: rules the proxy owns per table after the last sync. */
  readonly iptablesRulesTotal: Gauge<'table'>;
  /** `kubeproxy_sync_proxy_rules_iptables_last{table}`: rules the last sync wrote per table. */
  readonly iptablesRulesLastSync: Gauge<'table'>;
  /** `kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy}`. */
  readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  /** `kubeproxy_sync_proxy_rules_nftables_sync_failures_total`. */
  readonly nftablesSyncFailures: Counter;
  /** `ferry_proxy_nftables_table_repairs_total`: the table found deleted or flushed from outside and rebuilt. */
  readonly nftablesTableRepairs: Counter;
  /** `ferry_proxy_nftables_elements`: elements in the table's sets and maps after the last sync. */
  readonly nftablesElements: Gauge;
  /**
   * countCtStateInvalidDropped registers
   * `kubeproxy_iptables_ct_state_invalid_dropped_packets_total`, read at each
   * scrape; the iptables mode registers it, as kube-proxy does.
   */
  countCtStateInvalidDropped(read: ScrapedValue): void;
  /** countLocalhostNodePortsAccepted registers `kubeproxy_iptables_localhost_nodeports_accepted_packets_total` the same way. */
  countLocalhostNodePortsAccepted(read: ScrapedValue): void;
}

/**
 * ProxyMetrics holds kube-proxy's metrics (subsystem `kubeproxy`) on a
 * registry of its own, served by the metrics server. Durations are observed
 * in seconds as kube-proxy does.
 */
export class ProxyMetrics implements BackendMetrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly networkProgrammingDuration: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly serviceChangesPending: Gauge;
  readonly serviceChangesTotal: Counter;
  readonly endpointChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;
  readonly syncFailuresTotal: Counter;
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;
  readonly iptablesRestoreFailures: Counter;
  readonly iptablesPartialRestoreFailures: Counter;
  readonly iptablesRulesTotal: Gauge<'table'>;
  readonly iptablesRulesLastSync: Gauge<'table'>;
  readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  readonly nftablesSyncFailures: Counter;
  readonly nftablesTableRepairs: Counter;
  readonly nftablesElements: Gauge;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const durationBuckets = exponentialBuckets(0.001, 2, 15);
    this.syncDuration = new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets: durationBuckets, registers });
    this.syncFullDuration = new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for full resyncs', buckets: durationBuckets, registers });
    this.syncPartialDuration = new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for partial resyncs', buckets: durationBuckets, registers });
    this.networkProgrammingDuration = new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds', help: 'In Cluster Network Programming Latency in seconds',
      buckets: [...linearBuckets(0.25, 0.25, 2), ...linearBuckets(1, 1, 59), ...linearBuckets(60, 5, 12), ...linearBuckets(120, 30, 7)], registers,
    });
    this.lastSyncTimestamp = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers });
    this.lastQueuedTimestamp = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', registers });
    this.serviceChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes', registers });
    this.serviceChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers });
    this.endpointChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes', registers });
    this.endpointChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers });
    this.syncFailuresTotal = new Counter({ name: 'ferry_proxy_sync_failures_total', help: 'Syncs that failed and were scheduled for retry', registers });
    this.healthzTotal = new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
    this.livezTotal = new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
    this.iptablesRestoreFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total', help: 'Cumulative proxy iptables restore failures', registers });
    this.iptablesPartialRestoreFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total', help: 'Cumulative proxy iptables partial restore failures', registers });
    this.iptablesRulesTotal = new Gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_total', help: 'Total number of iptables rules owned by kube-proxy', labelNames: ['table'], registers });
    this.iptablesRulesLastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_last', help: 'Number of iptables rules written by kube-proxy in last sync', labelNames: ['table'], registers });
    this.noLocalEndpoints = new Gauge({ name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', help: 'Number of services with a Local traffic policy and no endpoints', labelNames: ['traffic_policy'], registers });
    this.nftablesSyncFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total', help: 'Cumulative proxy nftables sync failures', registers });
    this.nftablesTableRepairs = new Counter({ name: 'ferry_proxy_nftables_table_repairs_total', help: 'Times the nftables table was found deleted or flushed from outside and rebuilt', registers });
    this.nftablesElements = new Gauge({ name: 'ferry_proxy_nftables_elements', help: 'Elements in the nftables sets and maps after the last sync', registers });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  countCtStateInvalidDropped(read: ScrapedValue): void {
    new ScrapedCounter('kubeproxy_iptables_ct_state_invalid_dropped_packets_total', 'packets dropped by iptables to work around conntrack problems', this.registry, read);
  }

  countLocalhostNodePortsAccepted(read: ScrapedValue): void {
    new ScrapedCounter('kubeproxy_iptables_localhost_nodeports_accepted_packets_total', 'Number of packets accepted on nodeports of loopback interface', this.registry, read);
  }
}
