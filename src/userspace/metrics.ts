import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionCounts } from './connection-counts.ts';
import type { TcpStats } from './tcp-proxy.ts';
import type { UdpStats } from './udp-proxy.ts';
import type { WorkerReports } from './worker-pool.ts';
import type { WorkerReport } from './worker-protocol.ts';

/**
 * UserspaceMetrics are the userspace mode's own series, beside the common
 * proxy metrics the `ferry proxy` command registers. Per-connection work is a
 * counter increment; open connections per endpoint are read at scrape time
 * from the primary's counts plus each worker's last report.
 */
export interface UserspaceMetrics extends TcpStats, UdpStats, WorkerReports {
  /** openConnections is the number of proxied TCP connections open in all processes. */
  openConnections(): number;
}

export function createMetrics(registry: Registry, counts: ConnectionCounts): UserspaceMetrics {
  const registers = [registry];
  const accepted = new Counter({ name: 'kubeproxy_userspace_accepted_connections_total', help: 'TCP connections accepted by userspace listeners', labelNames: ['service'], registers });
  const dialFailures = new Counter({ name: 'kubeproxy_userspace_dial_failures_total', help: 'Failed dials to endpoints (each retried on the next endpoint)', labelNames: ['service'], registers });
  const noEndpoint = new Counter({ name: 'kubeproxy_userspace_no_endpoint_total', help: 'Connections or datagrams dropped because the service had no usable endpoint', labelNames: ['service'], registers });
  const udpSessions = new Gauge({ name: 'kubeproxy_userspace_udp_sessions', help: 'Open UDP client sessions', labelNames: ['service'], registers });
  const workerOpen = new Map<number, Record<string, number>>();
  const openByEndpoint = () => {
    const total = new Map(counts.entries());
    for (const open of workerOpen.values()) for (const [ep, n] of Object.entries(open)) total.set(ep, (total.get(ep) ?? 0) + n);
    return total;
  };
  new Gauge({
    name: 'kubeproxy_userspace_endpoint_connections',
    help: 'Open proxied TCP connections per endpoint (including draining endpoints), all processes',
    labelNames: ['endpoint'],
    registers,
    collect() {
      this.reset();
      for (const [endpoint, n] of openByEndpoint()) this.set({ endpoint }, n);
    },
  });
  const addAll = (counter: Counter<'service'>, table: Record<string, number>) => {
    for (const [service, n] of Object.entries(table)) counter.inc({ service }, n);
  };
  return {
    counts,
    onAccepted: (service) => accepted.inc({ service }),
    onDialFailure: (service) => dialFailures.inc({ service }),
    onNoEndpoint: (service) => noEndpoint.inc({ service }),
    onSessionOpened: (service) => udpSessions.inc({ service }),
    onSessionClosed: (service) => udpSessions.dec({ service }),
    onReport(worker: number, report: WorkerReport) {
      addAll(accepted, report.accepted);
      addAll(dialFailures, report.dialFailures);
      addAll(noEndpoint, report.noEndpoint);
      workerOpen.set(worker, report.open);
    },
    openConnections: () => [...openByEndpoint().values()].reduce((a, b) => a + b, 0),
  };
}
