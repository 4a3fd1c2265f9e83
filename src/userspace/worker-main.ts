/**
 * Entry point of a userspace TCP worker process. The primary forks it and
 * shares service listeners with it; it accepts and proxies connections like
 * the primary does, with its own round-robin state per service, and reports
 * its counters once a second. It exits when the primary goes away.
 */
import type { Server } from 'node:net';
import { ConnectionCounts } from './connection-counts.ts';
import { RoundRobin } from './load-balancer.ts';
import { TcpProxy, type TcpStats } from './tcp-proxy.ts';
import type { ToWorker, WorkerReport } from './worker-protocol.ts';

const counts = new ConnectionCounts();
let pending = { accepted: {} as Record<string, number>, dialFailures: {} as Record<string, number>, noEndpoint: {} as Record<string, number> };
const bump = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1;
};
const stats: TcpStats = {
  counts,
  onAccepted: (key) => bump(pending.accepted, key),
  onDialFailure: (key) => bump(pending.dialFailures, key),
  onNoEndpoint: (key) => bump(pending.noEndpoint, key),
};
/** Per service: its balancer (set at once, so endpoint updates never miss it) and listener once open. */
const services = new Map<string, { lb: RoundRobin; proxy?: TcpProxy }>();

process.on('message', (msg: ToWorker, handle: unknown) => {
  switch (msg.type) {
    case 'share': {
      const entry: { lb: RoundRobin; proxy?: TcpProxy } = { lb: new RoundRobin() };
      entry.lb.setEndpoints(msg.endpoints);
      services.set(msg.key, entry);
      void TcpProxy.open(msg.key, handle as Server, entry.lb, stats).then((proxy) => {
        entry.proxy = proxy;
        // Unshared while opening: close at once.
        if (services.get(msg.key) !== entry) void proxy.close();
      });
      return;
    }
    case 'endpoints':
      services.get(msg.key)?.lb.setEndpoints(msg.endpoints);
      return;
    case 'unshare': {
      const entry = services.get(msg.key);
      services.delete(msg.key);
      void entry?.proxy?.close();
      return;
    }
  }
});

setInterval(() => {
  const report: WorkerReport = { type: 'report', ...pending, open: Object.fromEntries(counts.entries()) };
  pending = { accepted: {}, dialFailures: {}, noEndpoint: {} };
  process.send?.(report);
}, 1000).unref();

// Without the primary nobody manages the listeners or rules: stop.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
