import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineReports } from './engine/engine.ts';
import type { EngineReport } from './engine/protocol.ts';
import type { UdpStats } from './udp-proxy.ts';

/**
 * UserspaceMetrics are the userspace mode's own series, beside the common
 * proxy metrics the `ferry proxy` command registers. TCP is counted by the
 * engine threads, which report their counters and open connections per
 * endpoint (at most every 100 ms); the series are updated from the reports.
 */
export interface UserspaceMetrics extends UdpStats, EngineReports {
  /** openConnections is the number of proxied TCP connections open, all threads. */
  openConnections(): number;
}

export function createMetrics(registry: Registry): UserspaceMetrics {
  const registers = [registry];
  const accepted = new Counter({ name: 'kubeproxy_userspace_accepted_connections_total', help: 'TCP connections accepted by userspace listeners', labelNames: ['service'], registers });
  const dialFailures = new Counter({ name: 'kubeproxy_userspace_dial_failures_total', help: 'Failed dials to endpoints (each retried on the next endpoint)', labelNames: ['service'], registers });
  const noEndpoint = new Counter({ name: 'kubeproxy_userspace_no_endpoint_total', help: 'Connections or datagrams dropped because the service had no usable endpoint', labelNames: ['service'], registers });
  const udpSessions = new Gauge({ name: 'kubeproxy_userspace_udp_sessions', help: 'Open UDP client sessions', labelNames: ['service'], registers });
  const threadOpen = new Map<number, Record<string, number>>();
  const openByEndpoint = () => {
    const total = new Map<string, number>();
    for (const open of threadOpen.values()) for (const [ep, n] of Object.entries(open)) total.set(ep, (total.get(ep) ?? 0) + n);
    return total;
  };
  new Gauge({
    name: 'kubeproxy_userspace_endpoint_connections',
    help: 'Open proxied TCP connections per endpoint (including draining endpoints)',
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
    onNoEndpoint: (service) => noEndpoint.inc({ service }),
    onSessionOpened: (service) => udpSessions.inc({ service }),
    onSessionClosed: (service) => udpSessions.dec({ service }),
    onReport(thread: number, report: EngineReport) {
      addAll(accepted, report.accepted);
      addAll(dialFailures, report.dialFailures);
      addAll(noEndpoint, report.noEndpoint);
      threadOpen.set(thread, report.open);
    },
    openConnections: () => [...openByEndpoint().values()].reduce((a, b) => a + b, 0),
  };
}
