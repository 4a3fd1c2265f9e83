import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestRecord } from '../client/api-client.ts';

/** Prometheus's default buckets (client_golang DefBuckets), which CoreDNS's client metrics use. */
const DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * ApiClientMetrics are CoreDNS's metrics of its API client
 * (plugin/kubernetes/metrics.go, fed by client-go):
 * coredns_kubernetes_rest_client_request_duration_seconds{verb,host},
 * coredns_kubernetes_rest_client_rate_limiter_duration_seconds{verb,host}
 * and coredns_kubernetes_rest_client_requests_total{code,method,host}. One
 * client serves every server block, so the metrics are made once and
 * registered in each block's registry. (CoreDNS sanitizes the host label
 * to valid UTF-8; a JavaScript string always is.)
 */
export class ApiClientMetrics {
  readonly #latency = new Histogram({
    name: 'coredns_kubernetes_rest_client_request_duration_seconds', help: 'Request latency in seconds. Broken down by verb and host.',
    labelNames: ['verb', 'host'], buckets: DEF_BUCKETS, registers: [],
  });
  readonly #limiter = new Histogram({
    name: 'coredns_kubernetes_rest_client_rate_limiter_duration_seconds', help: 'Client side rate limiter latency in seconds. Broken down by verb and host.',
    labelNames: ['verb', 'host'], buckets: DEF_BUCKETS, registers: [],
  });
  readonly #results = new Counter({
    name: 'coredns_kubernetes_rest_client_requests_total', help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'], registers: [],
  });

  /** observe is the ApiClient's onRequest. */
  readonly observe = (r: RequestRecord): void => {
    this.#latency.observe({ verb: r.method, host: r.host }, r.seconds);
    this.#limiter.observe({ verb: r.method, host: r.host }, r.waitedSeconds);
    this.#results.inc({ code: r.code, method: r.method, host: r.host });
  };

  registerIn(registry: Registry): void {
    for (const metric of [this.#latency, this.#limiter, this.#results]) registry.registerMetric(metric);
  }
}
