import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChangeKind } from './controller.ts';
import { RCODE_NAMES, TYPE_NAMES } from './wire/constants.ts';

export type Proto = 'udp' | 'tcp';
/** The CoreDNS plugin that wrote a response ('' for errors written by the server). */
export type Plugin = '' | 'kubernetes' | 'forward';
const PLUGINS: readonly Plugin[] = ['', 'kubernetes', 'forward'];

/** Buckets of CoreDNS's request duration histogram (plugin/metrics/vars: 0.00025 × 2^n). */
const DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];

/**
 * DnsMetrics exports CoreDNS's metric names. The per-query counters are
 * plain numbers bumped on the hot path and copied into prom-client when
 * scraped (a labelled prom-client inc per query would cost more than the
 * fast path's answer itself).
 */
export class DnsMetrics {
  readonly registry = new Registry();
  readonly #server: string;
  /** (qtype << 2 | tcp << 1 | v6) → count since the last scrape. */
  readonly #requests = new Map<number, number>();
  /** (rcode << 2 | plugin index) → count since the last scrape. */
  readonly #responses = new Map<number, number>();
  readonly #duration: Histogram<'server' | 'zone' | 'view' | 'type'>;
  readonly #durationByType = new Map<number, ReturnType<Histogram<'server' | 'zone' | 'view' | 'type'>['labels']>>();
  readonly #programming: Histogram<'service_kind'>;

  constructor(server: string) {
    this.#server = server;
    const requests = this.#requests;
    const responses = this.#responses;
    const srv = server;
    new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [this.registry],
      collect() {
        for (const [k, n] of requests) {
          const type = TYPE_NAMES[k >> 2] ?? 'other';
          this.inc({ server: srv, zone: '.', view: '', proto: k & 2 ? 'tcp' : 'udp', family: k & 1 ? '2' : '1', type }, n);
        }
        requests.clear();
      },
    });
    new Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [this.registry],
      collect() {
        for (const [k, n] of responses) {
          const rcode = RCODE_NAMES[k >> 2] ?? String(k >> 2);
          this.inc({ server: srv, zone: '.', view: '', rcode, plugin: PLUGINS[k & 3]! }, n);
        }
        responses.clear();
      },
    });
    this.#duration = new Histogram({
      name: 'coredns_dns_request_duration_seconds',
      help: 'Histogram of the time (in seconds) each request took per zone.',
      labelNames: ['server', 'zone', 'view', 'type'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.#programming = new Histogram({
      name: 'coredns_kubernetes_dns_programming_duration_seconds',
      help: 'Histogram of the time (in seconds) it took to program a dns instance.',
      labelNames: ['service_kind'],
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384, 32.768, 65.536, 131.072, 262.144, 524.288],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** request counts one answered query; `plugin` is 'kubernetes', 'forward' or '' (CoreDNS's label). */
  request(proto: Proto, family: 4 | 6, qtype: number, rcode: number, plugin: Plugin, seconds: number): void {
    const t = TYPE_NAMES[qtype] === undefined ? 0 : qtype;
    const rk = (t << 2) | (proto === 'tcp' ? 2 : 0) | (family === 6 ? 1 : 0);
    this.#requests.set(rk, (this.#requests.get(rk) ?? 0) + 1);
    const sk = (rcode << 2) | PLUGINS.indexOf(plugin);
    this.#responses.set(sk, (this.#responses.get(sk) ?? 0) + 1);
    let child = this.#durationByType.get(t);
    if (!child) {
      child = this.#duration.labels({ server: this.#server, zone: '.', view: '', type: TYPE_NAMES[t] ?? 'other' });
      this.#durationByType.set(t, child);
    }
    child.observe(seconds);
  }

  /** requests counts `n` queries answered by the batched UDP worker (no duration: they are timed in bulk, not one by one). */
  requests(proto: Proto, family: 4 | 6, qtype: number, rcode: number, plugin: Plugin, n: number): void {
    const t = TYPE_NAMES[qtype] === undefined ? 0 : qtype;
    const rk = (t << 2) | (proto === 'tcp' ? 2 : 0) | (family === 6 ? 1 : 0);
    this.#requests.set(rk, (this.#requests.get(rk) ?? 0) + n);
    const sk = (rcode << 2) | PLUGINS.indexOf(plugin);
    this.#responses.set(sk, (this.#responses.get(sk) ?? 0) + n);
  }

  /** programmed records how long an API change took to reach the answers (CoreDNS's DNS programming latency SLI). */
  programmed(kind: ChangeKind, changedAtMs: number): void {
    if (kind === 'pod' || kind === 'namespace') return;
    this.#programming.observe({ service_kind: kind }, Math.max(0, (Date.now() - changedAtMs) / 1000));
  }
}
