import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node } from 'kubernetes-types/core/v1.js';
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';
import type { ProxyMetrics } from './metrics.ts';

/** Taint the cluster autoscaler puts on a node it is about to delete. */
const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/**
 * ProxierHealth is kube-proxy's ProxierHealthServer state: the proxy is
 * unhealthy once an update has been queued and not applied within
 * `healthTimeoutMs` (2 × sync period). `/healthz` also fails while this node
 * is being deleted; `/livez` ignores that.
 */
export class ProxierHealth {
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  #lastUpdated = 0;
  /** When the oldest update not yet applied was queued; 0 when none is pending. */
  #oldestPendingQueued = 0;
  #nodeEligible = true;

  constructor(options: { healthTimeoutMs: number; clock?: Clock }) {
    this.#timeoutMs = options.healthTimeoutMs;
    this.#clock = options.clock ?? realClock;
  }

  /** queuedUpdate: a change (or a retry after a failed sync) is waiting to be applied. */
  queuedUpdate(): void {
    if (this.#oldestPendingQueued === 0) this.#oldestPendingQueued = this.#clock.now();
  }

  /** updated: a sync succeeded; everything queued before it is applied. */
  updated(): void {
    this.#lastUpdated = this.#clock.now();
    this.#oldestPendingQueued = 0;
  }

  /** syncNode records whether this node may receive traffic (not being deleted). */
  syncNode(node: Node | undefined): void {
    this.#nodeEligible = !node || (!node.metadata?.deletionTimestamp && !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT));
  }

  status(): { healthy: boolean; nodeEligible: boolean; lastUpdated: number; currentTime: number } {
    const now = this.#clock.now();
    const healthy = this.#oldestPendingQueued === 0 || now - this.#oldestPendingQueued < this.#timeoutMs;
    return { healthy, nodeEligible: this.#nodeEligible, lastUpdated: this.#lastUpdated, currentTime: now };
  }
}

/** goTime prints a time as Go's time.Time String() does in kube-proxy's bodies. */
function goTime(ms: number): string {
  if (ms === 0) return '0001-01-01 00:00:00 +0000 UTC';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' +0000 UTC');
}

/** healthzHandler serves `/healthz` and `/livez` with kube-proxy's JSON bodies and status codes. */
export function healthzHandler(health: ProxierHealth, metrics: ProxyMetrics | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    const s = health.status();
    const livez = path === '/livez';
    const ok = s.healthy && (livez || s.nodeEligible);
    const code = ok ? 200 : 503;
    (livez ? metrics?.livezTotal : metrics?.healthzTotal)?.inc({ code: String(code) });
    const body = livez
      ? `{"lastUpdated": ${JSON.stringify(goTime(s.lastUpdated))},"currentTime": ${JSON.stringify(goTime(s.currentTime))}}`
      : `{"lastUpdated": ${JSON.stringify(goTime(s.lastUpdated))},"currentTime": ${JSON.stringify(goTime(s.currentTime))}, "nodeEligible": ${s.nodeEligible}}`;
    res.writeHead(code, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
}

/** metricsHandler serves `/metrics` (Prometheus text) and `/proxyMode` on the metrics address, as kube-proxy does. */
export function metricsHandler(metrics: ProxyMetrics, mode: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/proxyMode') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(mode);
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
    }
  };
}
