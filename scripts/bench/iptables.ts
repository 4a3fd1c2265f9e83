// Benchmark of the iptables proxier; run through scripts/bench/iptables, which
// puts this process in a scratch network namespace.
import { parseArgs } from 'node:util';
import { cleanupRules } from '../../src/iptables/cleanup.ts';
import { IptablesProxier } from '../../src/iptables/proxier.ts';
import { renderRules } from '../../src/iptables/render.ts';
import { detectHostFeatures } from '../../src/iptables/host-features.ts';
import { createRunner, type IptablesBackend, type IptablesRunner } from '../../src/iptables/runner.ts';
import { BenchRecorder } from '../../src/bench/result.ts';
import { aggregate, percentile as pct } from '../../src/bench/stats.ts';
import { NETWORK_PROGRAMMING_CHART, SYNC_TIME_CHART } from '../../src/bench/shared-charts.ts';
import { benchCluster, benchEndpoints, benchProxyConfig, benchService, noIptablesMetrics, snapshot } from './synthetic.ts';

const { values: args } = parseArgs({
  options: {
    // iptables-nft-restore --noflush is superlinear in the number of chains
    // here (1k services x 10 endpoints: about a minute), so nft runs at 1k by default.
    'legacy-sizes': { type: 'string' },
    'nft-sizes': { type: 'string' },
    'latency-seconds': { type: 'string' },
  },
});
const recorder = new BenchRecorder('iptables');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1): legacy 100 and 1k, nft 100 and 300, 3 s of changes.
const quick = recorder.quick;
args['legacy-sizes'] ??= quick ? '100,1000' : '1000,5000,10000';
args['nft-sizes'] ??= quick ? '100,300' : '1000';
args['latency-seconds'] ??= quick ? '3' : '10';
const sizesOf = (list: string) => (list === '' ? [] : list.split(',').map(Number));
const plan: Array<[IptablesBackend, number[]]> = [['legacy', sizesOf(args['legacy-sizes']!)], ['nft', sizesOf(args['nft-sizes']!)]];
const latencySeconds = Number(args['latency-seconds']);
const ENDPOINTS = 10;

/** timedRunner wraps a runner to add up time spent in iptables-restore. */
function timedRunner(inner: IptablesRunner): IptablesRunner & { restoreMs: number } {
  const r = {
    backend: inner.backend,
    restoreMs: 0,
    async restore(text: string) {
      const t0 = performance.now();
      await inner.restore(text);
      r.restoreMs += performance.now() - t0;
    },
    save: (t: string) => inner.save(t),
    chainExists: (t: string, c: string) => inner.chainExists(t, c),
  };
  return r;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Row { backend: string; services: number; renderMs: number; restoreMs: number; fullMs: number; rules: number; incrementalMs?: number; p50?: number; p99?: number }
const rows: Row[] = [];

for (const [backend, sizes] of plan) {
  for (const n of sizes) {
    const runner = timedRunner(createRunner(backend));
    const host = await detectHostFeatures(backend);
    await cleanupRules(runner);
    const cluster = benchCluster(n, ENDPOINTS);
    const proxier = new IptablesProxier({ config: benchProxyConfig('iptables', backend), runner, metrics: noIptablesMetrics, healthHost: '127.0.0.1', now: Date.now, sysctl: async () => {}, host }); // localhostNodePorts is off: no sysctl
    const state = snapshot(cluster, cluster.services.keys());
    const opts = { clusterCIDRs: ['10.0.0.0/8'], masqueradeAll: false, masqueradeMark: '0x4000', nodePortIPs: 'all' as const, nodeIPs: [], localhostNodePorts: false, ...host };
    const r0 = performance.now();
    const rendered = renderRules({ state, full: true, installedChains: new Set(), jumps: [] }, opts);
    const renderMs = performance.now() - r0;
    runner.restoreMs = 0;
    const f0 = performance.now();
    const full = await proxier.sync(state);
    const fullMs = performance.now() - f0;
    if (!full.ok) throw full.error;
    const row: Row = { backend, services: n, renderMs, restoreMs: runner.restoreMs, fullMs, rules: rendered.ruleCounts.nat + rendered.ruleCounts.filter };
    if (n === Math.max(...sizes)) {
      // Incremental: one endpoint of one service changes, 5 times.
      const inc: number[] = [];
      for (let k = 0; k < 5; k++) {
        const key = benchService(k).key;
        cluster.endpoints.set(key, benchEndpoints(k, ENDPOINTS, k + 1));
        const t0 = performance.now();
        const r = await proxier.sync(snapshot(cluster, [key]));
        inc.push(performance.now() - t0);
        if (!r.ok || r.full) throw new Error(`incremental sync ${r.ok ? 'was full' : r.error.message}`);
      }
      row.incrementalMs = aggregate(inc).median;
      // Latency: 10 changes/s for latencySeconds; a sync starts as soon as the previous one ends
      // (min-sync-period 0) and takes every change pending at its start.
      const latencies: number[] = [];
      let pending: Array<{ key: string; at: number }> = [];
      let syncing = false;
      const runSync = async () => {
        if (syncing || pending.length === 0) return;
        syncing = true;
        const batch = pending;
        pending = [];
        const r = await proxier.sync(snapshot(cluster, batch.map((c) => c.key)));
        if (!r.ok) throw r.error;
        const done = performance.now();
        for (const c of batch) latencies.push(done - c.at);
        syncing = false;
        void runSync();
      };
      for (let c = 0; c < latencySeconds * 10; c++) {
        const i = (c * 7919) % n;
        const key = benchService(i).key;
        cluster.endpoints.set(key, benchEndpoints(i, ENDPOINTS, (c % 50) + 10));
        pending.push({ key, at: performance.now() });
        void runSync();
        await new Promise((r) => setTimeout(r, 100));
      }
      while (syncing || pending.length > 0) await new Promise((r) => setTimeout(r, 20));
      row.p50 = pct(latencies, 50);
      row.p99 = pct(latencies, 99);
      for (const p of [10, 25, 50, 75, 90, 95, 99]) recorder.point({ chart: NETWORK_PROGRAMMING_CHART.id, series: `iptables ${backend}, ${n} services: snapshot → rules installed`, x: p, y: pct(latencies, p) });
    }
    rows.push(row);
    await proxier.cleanup();
    await proxier.close();
    process.stderr.write(`done ${JSON.stringify(row)}\n`);
  }
}

console.log(`iptables proxier, ${ENDPOINTS} endpoints per service; latency: proxier-side (snapshot handed to sync -> iptables-restore done), 10 changes/s for ${latencySeconds} s, min-sync-period 0`);
console.log('| backend | services | rules | render | iptables-restore | full sync | render/restore | incremental (1 endpoint) | latency p50 | latency p99 |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.services} | ${r.rules} | ${ms(r.renderMs)} | ${ms(r.restoreMs)} | ${ms(r.fullMs)} | ${((100 * r.renderMs) / r.restoreMs).toFixed(0)}% | ${r.incrementalMs === undefined ? '' : ms(r.incrementalMs)} | ${r.p50 === undefined ? '' : ms(r.p50)} | ${r.p99 === undefined ? '' : ms(r.p99)} |`);
}
recordFigures();

/** recordFigures gives `ferry bench` each row with the goals (those stated for 10k services apply there) and the chart points. */
function recordFigures(): void {
  recorder.chart(SYNC_TIME_CHART);
  recorder.chart(NETWORK_PROGRAMMING_CHART);
  for (const r of rows) {
    const id = `${r.backend}_${r.services}`;
    const at10k = r.services === 10_000;
    const what = `${r.backend}, ${r.services} services × ${ENDPOINTS} endpoints`;
    recorder.figure({ id: `${id}_restore_ms`, label: `${what}: iptables-restore alone (floor)`, value: r.restoreMs, unit: 'ms' });
    recorder.figure({ id: `${id}_full_ms`, label: `${what}: full sync`, value: r.fullMs, unit: 'ms', referenceId: `${id}_restore_ms`, ...(at10k ? { goal: { op: '<=' as const, value: 3000 } } : {}) });
    recorder.figure({ id: `${id}_render_ms`, label: `${what}: render`, value: r.renderMs, unit: 'ms' });
    recorder.figure({ id: `${id}_render_share`, label: `${what}: render / restore`, value: r.renderMs / r.restoreMs, unit: '×', ...(at10k ? { goal: { op: '<=' as const, value: 0.2 } } : {}) });
    if (r.incrementalMs !== undefined) recorder.figure({ id: `${id}_incremental_ms`, label: `${what}: sync of one endpoint change`, value: r.incrementalMs, unit: 'ms', goal: { op: '<=', value: 50 } });
    if (r.p50 !== undefined) recorder.figure({ id: `${id}_latency_p50_ms`, label: `${what}: change → rules installed p50`, value: r.p50, unit: 'ms', goal: { op: '<=', value: 50 } });
    if (r.p99 !== undefined) recorder.figure({ id: `${id}_latency_p99_ms`, label: `${what}: change → rules installed p99`, value: r.p99, unit: 'ms', goal: { op: '<=', value: 250 } });
    recorder.point({ chart: SYNC_TIME_CHART.id, series: `iptables ${r.backend}`, x: r.services, y: r.fullMs });
    recorder.point({ chart: SYNC_TIME_CHART.id, series: `iptables-${r.backend}-restore alone`, x: r.services, y: r.restoreMs });
  }
  if (quick) recorder.note('Quick sizes: the issue\'s goals for 10k services are not checked.');
  recorder.note(`Latency at ${latencySeconds * 10} changes over ${latencySeconds} s, min-sync-period 0, proxier-side (snapshot handed to sync → iptables-restore done).`);
  recorder.write();
}
