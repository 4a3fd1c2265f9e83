import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionCounts } from './connection-counts.ts';
import type { TcpStats } from './tcp-proxy.ts';
import type { UdpStats } from './udp-proxy.ts';

/**
 * UserspaceMetrics are the userspace mode's own series, beside the common
 * proxy metrics the `ferry proxy` command registers. Per-connection work is a
 * counter increment; open connections per endpoint are read at scrape time.
 */
export interface UserspaceMetrics extends TcpStats, UdpStats {}

export function createMetrics(registry: Registry, counts: ConnectionCounts): UserspaceMetrics {
  const registers = [registry];
  const accepted = new Counter({ name: 'kubeproxy_userspace_accepted_connections_total', help: 'TCP connections accepted by userspace listeners', labelNames: ['service'], registers });
  const dialFailures = new Counter({ name: 'kubeproxy_userspace_dial_failures_total', help: 'Failed dials to endpoints (each retried on the next endpoint)', labelNames: ['service'], registers });
  const noEndpoint = new Counter({ name: 'kubeproxy_userspace_no_endpoint_total', help: 'Connections or datagrams dropped because the service had no usable endpoint', labelNames: ['service'], registers });
  const udpSessions = new Gauge({ name: 'kubeproxy_userspace_udp_sessions', help: 'Open UDP client sessions', labelNames: ['service'], registers });
  new Gauge({
    name: 'kubeproxy_userspace_endpoint_connections',
    help: 'Open proxied TCP connections per endpoint (including draining endpoints)',
    labelNames: ['endpoint'],
    registers,
    collect() {
      this.reset();
      for (const [endpoint, n] of counts.entries()) this.set({ endpoint }, n);
    },
  });
  return {
    counts,
    onAccepted: (service) => accepted.inc({ service }),
    onDialFailure: (service) => dialFailures.inc({ service }),
    onNoEndpoint: (service) => noEndpoint.inc({ service }),
    onSessionOpened: (service) => udpSessions.inc({ service }),
    onSessionClosed: (service) => udpSessions.dec({ service }),
  };
}
