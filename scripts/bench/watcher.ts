// Benchmark of the watcher (src/endpoints); run through scripts/bench/watcher.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../../src/client/api-client.ts';
import { resources } from '../../src/client/resources.ts';
import { ProxierHealth } from '../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../src/endpoints/metrics.ts';
import type { Proxier, SyncResult } from '../../src/endpoints/proxier.ts';
import { ProxyLoop } from '../../src/endpoints/proxy-loop.ts';
import type { ProxyState } from '../../src/endpoints/proxy-state.ts';
import { BenchRecorder } from '../../src/bench/result.ts';
import { NETWORK_PROGRAMMING_CHART } from '../../src/bench/shared-charts.ts';

const { values: args } = parseArgs({ options: { services: { type: 'string' }, endpoints: { type: 'string', default: '10' }, changes: { type: 'string' }, inflight: { type: 'string', default: '32' } } });
const recorder = new BenchRecorder('watcher');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1): 1,000 services and 50 changes instead of 10,000 and 300.
const SERVICES = Number(args.services ?? (recorder.quick ? 1000 : 10000));
const ENDPOINTS = Number(args.endpoints);
const CHANGES = Number(args.changes ?? (recorder.quick ? 50 : 300));
const INFLIGHT = Number(args.inflight);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const ip = (s: number, e: number) => `10.${(s >> 8) & 255}.${s & 255}.${e + 1}`;

/** Watches for the snapshot that carries an awaited endpoint IP. */
class ProbeProxier implements Proxier {
  readonly mode = 'bench';
  syncs = 0;
  lastBuildMs = 0;
  waiting: { key: string; ip: string; resolve: (at: number) => void } | undefined;
  async sync(state: ProxyState): Promise<SyncResult> {
    this.syncs++;
    const w = this.waiting;
    if (w && state.endpoints.get(w.key)?.some((e) => e.ip === w.ip)) {
      this.waiting = undefined;
      w.resolve(performance.now());
    }
    return { ok: true, full: this.syncs === 1 };
  }
  async cleanup(): Promise<void> {}
  async close(): Promise<void> {}
}

async function startApiserver(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--listen', '127.0.0.1:0', '--storage', 'memory', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`apiserver exited ${code}`)));
  });
  return { url, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

async function pool(total: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < total) await fn(next++);
  }));
}

function slice(s: number, round = 0) {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { namespace: 'default', name: `svc-${s}-abc`, labels: { 'kubernetes.io/service-name': `svc-${s}` } },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({ addresses: [e === 0 && round > 0 ? `10.200.${round >> 8}.${round & 255}` : ip(s, e)], conditions: { ready: true }, nodeName: `node-${e % 3}` })),
  };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

function recordFigures(m: { syncedMs: number; firstSnapshotMs: number; rssAddedMiB: number; latencies: number[]; internal: number[] }): void {
  const scale = `${SERVICES} services x ${ENDPOINTS} endpoints`;
  recorder.figure({ id: 'has_synced_ms', label: `initial sync to hasSynced, ${scale}`, value: m.syncedMs, unit: 'ms' });
  recorder.figure({ id: 'first_snapshot_ms', label: `initial sync to first ProxyState, ${scale}`, value: m.firstSnapshotMs, unit: 'ms' });
  recorder.figure({ id: 'rss_added_mib', label: `resident memory added by the watcher, ${scale}`, value: m.rssAddedMiB, unit: 'MiB' });
  recorder.figure({ id: 'change_p50_ms', label: `change-to-snapshot latency p50 (${m.latencies.length} changes)`, value: pct(m.latencies, 50), unit: 'ms' });
  recorder.figure({ id: 'change_p99_ms', label: `change-to-snapshot latency p99 (${m.latencies.length} changes)`, value: pct(m.latencies, 99), unit: 'ms', goal: { op: '<=', value: 20 } });
  recorder.figure({ id: 'event_to_snapshot_p99_ms', label: 'of which watch event → ProxyState, p99', value: pct(m.internal, 99), unit: 'ms' });
  recorder.chart(NETWORK_PROGRAMMING_CHART);
  for (const p of [10, 25, 50, 75, 90, 95, 99]) recorder.point({ chart: 'network_programming_latency', series: 'watcher: API change → ProxyState', x: p, y: pct(m.latencies, p) });
  if (SERVICES !== 10000) recorder.note(`${SERVICES} services instead of the issue's 10,000 (quick sizes).`);
  recorder.write();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-watcher-'));
  const api = await startApiserver(dir);
  const writer = new ApiClient({ server: api.url }, { connections: INFLIGHT });
  try {
    process.stdout.write(`apiserver: ${api.url} (memory storage, separate process)\npopulating ${SERVICES} services x ${ENDPOINTS} endpoints...\n`);
    const t0 = performance.now();
    await pool(SERVICES, (s) => writer.create(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: `svc-${s}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }));
    await pool(SERVICES, (s) => writer.create(resources.endpointslices, slice(s)));
    process.stdout.write(`populated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const watcherClient = new ApiClient({ server: api.url });
    const proxier = new ProbeProxier();
    const loop = new ProxyLoop({ client: watcherClient, proxier, nodeName: 'node-0', minSyncPeriodMs: 0, syncPeriodMs: 3_600_000, configSyncPeriodMs: 0, metrics: new ProxyMetrics(), health: new ProxierHealth({ healthTimeoutMs: 7_200_000 }) });
    const start = performance.now();
    loop.start();
    await Promise.all([loop.services.synced, loop.endpointSlices.synced]);
    const syncedMs = performance.now() - start;
    while (proxier.syncs === 0) await new Promise((r) => setTimeout(r, 5));
    const firstSnapshotMs = performance.now() - start;
    const state = loop.lastState!;
    const endpoints = [...state.endpoints.values()].reduce((n, e) => n + e.length, 0);
    global.gc?.();
    const rss = process.memoryUsage().rss;
    process.stdout.write(`initial sync: hasSynced after ${syncedMs.toFixed(0)} ms, first ProxyState after ${firstSnapshotMs.toFixed(0)} ms (${state.services.size} service ports, ${endpoints} endpoints)\n`);
    process.stdout.write(`resident memory: ${mb(rss)} total, ${mb(rss - rssBefore)} added by the watcher (heap used ${mb(process.memoryUsage().heapUsed)})\n`);

    // A handler after the loop's own records when the watch delivered the change.
    let eventAt = 0;
    loop.endpointSlices.addHandlers({
      onUpdate: (_old, cur) => {
        const w = proxier.waiting;
        if (w && cur.endpoints?.some((e) => e.addresses[0] === w.ip)) eventAt = performance.now();
      },
    });
    const latencies: number[] = [];
    const internal: number[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const s = Math.floor(Math.random() * SERVICES);
      const body = slice(s, i);
      const seen = new Promise<number>((resolve) => (proxier.waiting = { key: `default/svc-${s}:http`, ip: body.endpoints[0]!.addresses[0]!, resolve }));
      const sent = performance.now();
      await writer.patch(resources.endpointslices, body.metadata.name, { endpoints: body.endpoints }, 'merge', { namespace: 'default' });
      const at = await seen;
      latencies.push(at - sent);
      internal.push(at - eventAt);
    }
    process.stdout.write(`change-to-snapshot latency, ${CHANGES} single endpoint changes (patch sent → backend receives the ProxyState; min-sync-period 0): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms\n`);
    process.stdout.write(`  of which watch event → ProxyState (tracker, runner, snapshot): p50 ${pct(internal, 50).toFixed(1)} ms, p99 ${pct(internal, 99).toFixed(1)} ms\n`);
    recordFigures({ syncedMs, firstSnapshotMs, rssAddedMiB: (rss - rssBefore) / 2 ** 20, latencies, internal });
    await loop.stop();
    await watcherClient.close();
  } finally {
    await writer.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench watcher: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
