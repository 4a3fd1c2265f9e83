/**
 * Benchmark of issue 15 (the nftables proxy mode), run through
 * scripts/bench/nftables. In one run:
 *
 * 1. Full sync from empty at each size (services × 10 endpoints): the
 *    nftables proxier's wall time and peak RSS, `nft -f` of the same ruleset
 *    (the floor), and the iptables mode on both backends, each in a fresh
 *    scratch namespace and process (nftables.cells.ts), stopped at a time limit.
 * 2. One endpoint change: the proxier's sync time, per proxier.
 * 3. Network programming latency measured by traffic, per mode, through
 *    `ferry apiserver` and `ferry proxy` in a lab (nftables.latency.ts).
 *
 * Prints both tables with the issue's goals beside the figures and records
 * them for `ferry bench`.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BenchRecorder } from '../../src/bench/result.ts';
import { NETWORK_PROGRAMMING_CHART, SYNC_TIME_CHART } from '../../src/bench/shared-charts.ts';
import { percentile } from '../../src/bench/stats.ts';
import { hasProgram, Teardowns } from './lab-helpers.ts';
import { runSyncCell } from './nftables.cells.ts';
import { measureLatency, type LatencyMode } from './nftables.latency.ts';
import { changeSummary, GOALS, latencyTable, syncTable, type LatencyRow, type ProxierCell, type SizeRow } from './nftables.report.ts';
import type { SyncCell } from './nftables.sync.ts';

const recorder = new BenchRecorder('nftables');
const quick = recorder.quick;
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: quick ? '100,1000' : '1000,5000,10000,30000' },
    // Which columns of the sync table to measure (the others read `not run`).
    cells: { type: 'string', default: 'nft-floor,nftables,iptables-nft,iptables-legacy' },
    'limit-seconds': { type: 'string', default: quick ? '60' : '120' },
    changes: { type: 'string', default: '10' },
    // mode=services: the background scale of the latency lab per mode (the largest that each loads in reasonable time).
    latency: { type: 'string', default: quick ? 'nftables=100,iptables-nft=100' : 'nftables=10000,iptables-nft=1000,iptables-legacy=10000' },
    switches: { type: 'string', default: quick ? '10' : '30' },
    'skip-sync': { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
  },
});
const ENDPOINTS = 10;
const SIZES = args.sizes.split(',').filter(Boolean).map(Number);
const LIMIT_MS = Number(args['limit-seconds']) * 1000;
const CELLS: readonly SyncCell[] = ['nft-floor', 'nftables', 'iptables-nft', 'iptables-legacy'];
const CHOSEN = new Set(args.cells.split(','));
const CELL_TOOLS: Record<SyncCell, string> = { 'nft-floor': 'nft', nftables: 'nft', 'iptables-nft': 'iptables-nft-restore', 'iptables-legacy': 'iptables-legacy-restore' };
const LATENCY = args.latency.split(',').filter(Boolean).map((kv) => {
  const [mode, services] = kv.split('=');
  return { mode: mode as LatencyMode, services: Number(services) };
});
const teardowns = new Teardowns();

/** measureSyncs fills the sync table, size by size; a cell over the limit at one size is not run at larger ones. */
async function measureSyncs(): Promise<SizeRow[]> {
  const rows: SizeRow[] = [];
  const overLimitAt = new Map<SyncCell, number>();
  const missing = new Set<SyncCell>();
  for (const cell of CELLS) if (!(await hasProgram(CELL_TOOLS[cell]))) missing.add(cell);
  for (const n of SIZES) {
    const results = new Map<SyncCell, Awaited<ReturnType<typeof runSyncCell>>>();
    for (const cell of CELLS) {
      const skippedAt = overLimitAt.get(cell);
      if (!CHOSEN.has(cell) || missing.has(cell) || skippedAt !== undefined) {
        const text = !CHOSEN.has(cell) ? 'not run (--cells)' : missing.has(cell) ? `not run: no ${CELL_TOOLS[cell]}` : `not run (> ${LIMIT_MS / 1000} s at ${skippedAt})`;
        results.set(cell, { full: { ok: false, text }, change: { ok: false, text: 'not run' }, overLimit: false });
        continue;
      }
      process.stdout.write(`${cell}: ${n} services × ${ENDPOINTS} endpoints...\n`);
      const r = await runSyncCell(teardowns, cell, n, ENDPOINTS, Number(args.changes), LIMIT_MS);
      if (r.overLimit) overLimitAt.set(cell, n);
      process.stdout.write(`  full ${r.full.ok ? `${r.full.value.ms.toFixed(0)} ms, peak RSS ${r.full.value.peakRssMB.toFixed(0)} MB (${r.full.value.baseRssMB.toFixed(0)} MB before the sync)` : r.full.text}${r.change.ok ? `; one change ${changeSummary(r.change.value).text}` : ''}\n`);
      results.set(cell, r);
    }
    const get = (c: SyncCell) => results.get(c)!;
    const proxiers: ProxierCell[] = ['nftables', 'iptables-nft', 'iptables-legacy'];
    rows.push({
      services: n, floor: get('nft-floor').full,
      full: Object.fromEntries(proxiers.map((c) => [c, get(c).full])) as SizeRow['full'],
      change: Object.fromEntries(proxiers.map((c) => [c, get(c).change])) as SizeRow['change'],
    });
  }
  return rows;
}

async function measureLatencies(): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const { mode, services } of LATENCY) {
    process.stdout.write(`latency: ${mode}, ${services} background services...\n`);
    try {
      rows.push(await measureLatency(teardowns, {
        mode, services, switches: Number(args.switches), backgroundPerSecond: 10, firstSyncTimeoutMs: 300_000, switchTimeoutMs: 10_000,
      }));
    } catch (err) {
      process.stdout.write(`  failed: ${(err as Error).message.split('\n')[0]}\n`);
      recorder.note(`latency, ${mode} at ${services} services: failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return rows;
}

function recordSyncs(rows: readonly SizeRow[]): void {
  recorder.chart(SYNC_TIME_CHART);
  recorder.chart({ id: 'nftables_full_sync', title: 'Full sync from empty: nftables vs nft -f floor vs iptables (10 endpoints per service)', xTitle: 'services', yTitle: 'full sync (ms)', kind: 'line', logX: true, logY: true });
  for (const r of rows) {
    const n = r.services;
    const what = `${n} services × ${ENDPOINTS} endpoints`;
    if (r.floor.ok) {
      recorder.figure({ id: `floor_${n}_ms`, label: `${what}: nft -f of the full ruleset (floor)`, value: r.floor.value.ms, unit: 'ms' });
      recorder.point({ chart: 'nftables_full_sync', series: 'nft -f (floor)', x: n, y: r.floor.value.ms });
    }
    for (const cell of ['nftables', 'iptables-nft', 'iptables-legacy'] as const) {
      const id = cell.replace('-', '_');
      const full = r.full[cell];
      const change = r.change[cell];
      const goals = cell === 'nftables';
      if (full.ok) {
        const goal = goals ? GOALS.fullSyncMs.get(n) : undefined;
        recorder.figure({ id: `${id}_${n}_full_ms`, label: `${what}: ${cell} full sync`, value: full.value.ms, unit: 'ms', ...(r.floor.ok ? { referenceId: `floor_${n}_ms` } : {}), ...(goal ? { goal } : {}) });
        recorder.point({ chart: 'nftables_full_sync', series: cell, x: n, y: full.value.ms });
        const rss = goals ? GOALS.peakRssMB.get(n) : undefined;
        recorder.figure({ id: `${id}_${n}_peak_rss_mb`, label: `${what}: ${cell} proxy peak RSS`, value: full.value.peakRssMB, unit: 'MB', ...(rss ? { goal: rss } : {}) });
        if (goals) {
          recorder.point({ chart: SYNC_TIME_CHART.id, series: 'nftables', x: n, y: full.value.ms });
          if (r.floor.ok) {
            const ratio = GOALS.floorRatio.get(n);
            recorder.figure({ id: `${id}_${n}_vs_floor`, label: `${what}: nftables full sync ÷ nft -f floor`, value: full.value.ms / r.floor.value.ms, unit: '×', ...(ratio ? { goal: ratio } : {}) });
          }
        }
      } else if (full.text.startsWith('>')) recorder.note(`${cell}, ${what}: full sync over the time limit (${full.text}); larger sizes not run.`);
      else recorder.note(`${cell}, ${what}: full sync ${full.text}`);
      if (change.ok) {
        const goal = goals ? GOALS.changeMs.get(n) : undefined;
        recorder.figure({ id: `${id}_${n}_change_ms`, label: `${what}: ${cell} sync of one endpoint change (median of ${change.value.length})`, value: percentile(change.value, 50), unit: 'ms', ...(goal ? { goal } : {}) });
      }
    }
  }
}

function recordLatencies(rows: readonly LatencyRow[]): void {
  recorder.chart(NETWORK_PROGRAMMING_CHART);
  for (const r of rows) {
    const id = `latency_${r.mode.replace('-', '_')}_${r.services}`;
    const what = `${r.mode}, ${r.services} services: API write → new endpoint answers`;
    const goals = r.mode === 'nftables';
    if (r.latenciesMs.length === 0) continue;
    recorder.figure({ id: `${id}_p50_ms`, label: `${what}, p50`, value: percentile(r.latenciesMs, 50), unit: 'ms', ...(goals ? { goal: GOALS.latencyP50Ms } : {}) });
    recorder.figure({ id: `${id}_p99_ms`, label: `${what}, p99`, value: percentile(r.latenciesMs, 99), unit: 'ms', ...(goals ? { goal: GOALS.latencyP99Ms } : {}) });
    recorder.figure({ id: `${id}_missed`, label: `${what}: switches slower than 10 s`, value: r.missed, unit: 'switches' });
    for (const p of [10, 25, 50, 75, 90, 95, 99]) recorder.point({ chart: NETWORK_PROGRAMMING_CHART.id, series: `${r.mode}, ${r.services} services: API write → traffic`, x: p, y: percentile(r.latenciesMs, p) });
  }
}

/** loadAverage: the machine is shared (2 cores), so a run says how busy it was. */
const loadAverage = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const ipvs = existsSync('/proc/net/ip_vs');
  const loadAtStart = loadAverage();
  const syncRows = args['skip-sync'] ? [] : await measureSyncs();
  const latencyRows = args['skip-latency'] ? [] : await measureLatencies();
  const out = ['', `Load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAverage()}: other jobs on this machine's 2 cores shift single figures.`, ''];
  if (syncRows.length > 0) {
    out.push(`Full sync from empty and one endpoint change (median and max of ${args.changes}), ${ENDPOINTS} endpoints per service; each cell a fresh namespace and process; time limit ${LIMIT_MS / 1000} s per run.`,
      'Peak RSS: the proxy process (VmHWM; "before": its RSS when the sync began, Node, modules and the ProxyState); for the floor, nft\'s own (/usr/bin/time). Goals from issue 15 beside the figures they apply to.', '', ...syncTable(syncRows), '');
  }
  if (latencyRows.length > 0) {
    out.push(`Network programming latency by traffic: ferry apiserver (memory) + ferry proxy --min-sync-period 0 in a lab; ${args.switches} switches of the probe service's only endpoint between two pods, 10 background endpoint changes per second; from the PATCH to the SYN of the first connection the new pod answers (polled every 1 ms).`,
      '', ...latencyTable(latencyRows), '');
  }
  out.push(ipvs ? 'ipvs: not measured by this suite.' : 'ipvs: not measured, this kernel has no IPVS (CONFIG_IP_VS unset; the datapath-ipvs suite runs it under User-Mode Linux).');
  console.log(out.join('\n'));
  recordSyncs(syncRows);
  recordLatencies(latencyRows);
  if (!ipvs) recorder.note('ipvs is not in this kernel: no latency by traffic for it here.');
  if (quick) recorder.note('Quick sizes: the issue\'s goals at 10k and 30k services are not checked.');
  recorder.note(`Time limit ${LIMIT_MS / 1000} s per sync run; latency with ${args.switches} switches and 10 background changes/s (background size per mode: ${args.latency}).`);
  recorder.note(`Load average at start ${loadAtStart}, at end ${loadAverage()} (2 cores, shared).`);
  recorder.write();
}

teardowns.onSignals();
try {
  await main();
} finally {
  await teardowns.runFrom();
}
