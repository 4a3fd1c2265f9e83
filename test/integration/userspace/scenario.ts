/**
 * Scenario process: runs the userspace proxier inside a lab node namespace
 * (`ip netns exec <node> node --import tsx scenario.ts`) and drives it with
 * JSON lines on stdin, answering one JSON line per command on stdout:
 *
 *   {"op":"sync","services":[ServiceSpec...]} → {"ok":true,"ports":{"ns/svc:p":40123}}
 *   {"op":"rss"}                               → {"ok":true,"maxRssKiB":51234}  (peak of this process and its workers)
 *   {"op":"cleanup"}                           → {"ok":true}
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { availableParallelism } from 'node:os';
import { Registry } from 'prom-client';
import { UserspaceProxier } from '../../../src/userspace/index.ts';
import { ConnectionCounts } from '../../../src/userspace/connection-counts.ts';
import { createMetrics } from '../../../src/userspace/metrics.ts';
import { createPortalRunner } from '../../../src/userspace/portal-runner.ts';
import { createRunner, detectBackend } from '../../../src/iptables/runner.ts';
import { SHARED_ACCEPT_ENV } from '../../../src/userspace/worker-pool.ts';
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

// Built as createProxier does, but typed as UserspaceProxier (for proxyPort); SCENARIO_WORKERS
// overrides the worker count (tests exercise the workers, benchmarks compare counts).
const workers = process.env.SCENARIO_WORKERS === undefined ? Math.max(0, availableParallelism() - 2) : Number(process.env.SCENARIO_WORKERS);
if (workers > 0) Object.assign(process.env, SHARED_ACCEPT_ENV);
const proxier = new UserspaceProxier({
  listenAddress: '0.0.0.0',
  portRange: config.proxyPortRange,
  udpIdleTimeoutMs: config.udpIdleTimeoutMs,
  runner: createPortalRunner(createRunner(await detectBackend())),
  metrics: createMetrics(new Registry(), new ConnectionCounts()),
  workers,
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
      return { ok: true, maxRssKiB: Math.max(process.resourceUsage().maxRSS, ...workerPeakRssKiB()) };
    case 'cleanup':
      await proxier.cleanup();
      return { ok: true };
  }
}

/** workerPeakRssKiB reads the peak RSS (VmHWM) of this process's children, the TCP workers. */
function workerPeakRssKiB(): number[] {
  const children = readdirSync('/proc/self/task').flatMap((tid) => readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
  return children.map((pid) => {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  });
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
