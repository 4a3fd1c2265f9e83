/**
 * Scenario process: runs the userspace proxier inside a lab node namespace
 * (`ip netns exec <node> node --import tsx scenario.ts`) and drives it with
 * JSON lines on stdin, answering one JSON line per command on stdout:
 *
 *   {"op":"sync","services":[ServiceSpec...]} → {"ok":true,"ports":{"ns/svc:p":40123}}
 *   {"op":"rss"}                               → {"ok":true,"maxRssKiB":51234}  (peak of this process, engine threads included)
 *   {"op":"cleanup"}                           → {"ok":true}
 */
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { UserspaceProxier } from '../../../src/userspace/index.ts';
import { createMetrics } from '../../../src/userspace/metrics.ts';
import { createPortalRunner } from '../../../src/userspace/portal-runner.ts';
import { createRunner, detectBackend } from '../../../src/iptables/runner.ts';
import { defaultTcpThreads } from '../../../src/userspace/engine/engine.ts';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import { proxyState, type ServiceSpec } from './state.ts';
import { proxyConfig } from '../../helpers/proxy-state-fixtures.ts';

const config: ProxyConfig = proxyConfig({
  mode: 'userspace',
  proxyPortRange: process.env.PROXY_PORT_RANGE ? (process.env.PROXY_PORT_RANGE.split('-').map(Number) as [number, number]) : undefined,
});

// Built as createProxier does, but typed as UserspaceProxier (for proxyPort); SCENARIO_TCP_THREADS
// overrides the engine thread count (tests exercise several threads, benchmarks compare counts).
const tcpThreads = process.env.SCENARIO_TCP_THREADS === undefined ? defaultTcpThreads() : Number(process.env.SCENARIO_TCP_THREADS);
const proxier = new UserspaceProxier({
  listenAddress: '0.0.0.0',
  portRange: config.proxyPortRange,
  udpIdleTimeoutMs: config.udpIdleTimeoutMs,
  runner: createPortalRunner(createRunner(await detectBackend())),
  metrics: createMetrics(new Registry()),
  tcpThreads,
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
