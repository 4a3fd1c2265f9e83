/**
 * Scenario process: runs the userspace proxier inside a lab node namespace
 * (`ip netns exec <node> node --import tsx scenario.ts`) and drives it with
 * JSON lines on stdin, answering one JSON line per command on stdout:
 *
 *   {"op":"sync","services":[ServiceSpec...]} → {"ok":true,"ports":{"ns/svc:p":40123}}
 *   {"op":"rss"}                               → {"ok":true,"maxRssKiB":51234}
 *   {"op":"cleanup"}                           → {"ok":true}
 */
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { createProxier, UserspaceProxier } from '../../../src/userspace/index.ts';
import { ConnectionCounts } from '../../../src/userspace/connection-counts.ts';
import { createMetrics } from '../../../src/userspace/metrics.ts';
import { createPortalRunner } from '../../../src/userspace/portal-runner.ts';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import { proxyState, type ServiceSpec } from './state.ts';

const config: ProxyConfig = {
  mode: 'userspace',
  nodeName: 'node',
  clusterCIDRs: ['10.244.0.0/16'],
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
  syncPeriodMs: 30_000,
  minSyncPeriodMs: 1_000,
  iptablesBackend: undefined,
  ipvsScheduler: 'rr',
  ipvsTcpTimeoutMs: 0,
  ipvsTcpFinTimeoutMs: 0,
  ipvsUdpTimeoutMs: 0,
  proxyPortRange: process.env.PROXY_PORT_RANGE ? (process.env.PROXY_PORT_RANGE.split('-').map(Number) as [number, number]) : undefined,
  udpIdleTimeoutMs: 250,
};

// SCENARIO_WORKERS overrides the worker count (benchmarks compare one process with one per core).
const workers = process.env.SCENARIO_WORKERS;
const proxier = workers === undefined
  ? createProxier(config, new Registry())
  : new UserspaceProxier({
      listenAddress: '0.0.0.0',
    portRange: config.proxyPortRange,
      udpIdleTimeoutMs: config.udpIdleTimeoutMs,
      runner: createPortalRunner(undefined),
      metrics: createMetrics(new Registry(), new ConnectionCounts()),
      workers: Number(workers),
    });

type Command = { op: 'sync'; services: ServiceSpec[] } | { op: 'rss' } | { op: 'cleanup' };

async function handle(cmd: Command): Promise<Record<string, unknown>> {
  switch (cmd.op) {
    case 'sync': {
      const r = await proxier.sync(proxyState(cmd.services));
      if (!r.ok) return { ok: false, error: r.error.message };
      return { ok: true, ports: Object.fromEntries(cmd.services.map((s) => [s.key, proxier.proxyPort(s.key)])) };
    }
    case 'rss':
      return { ok: true, maxRssKiB: process.resourceUsage().maxRSS };
    case 'cleanup':
      await proxier.cleanup();
      return { ok: true };
  }
}

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  // Commands run one at a time, as the SyncRunner never overlaps syncs.
  queue = queue.then(async () => {
    const out = await handle(JSON.parse(line) as Command).catch((err: Error) => ({ ok: false, error: err.message }));
    process.stdout.write(JSON.stringify(out) + '\n');
  });
});
lines.on('close', () => void queue.then(() => proxier.cleanup()).then(() => process.exit(0)));
