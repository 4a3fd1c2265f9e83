/**
 * Data-path benchmark: first-packet latency vs number of services, per mode.
 *
 * Topology (test/helpers/proxy-topology.ts): client `ext` → node namespace →
 * two agnhost pods on cbr0. Nothing is linked to the root namespace. For each
 * mode (iptables with the nft and the legacy backend, userspace) and each size
 * N, datapath.node.ts programs N services × 2 endpoints in the node namespace
 * (a fresh proxier, first sync from empty, timed), then datapath.client.ts in
 * `ext` opens fresh TCP connections one after the other to the service whose
 * rule is LAST in the dispatch chain (KUBE-SERVICES, KUBE-PORTALS-CONTAINER):
 * a first packet walks every rule before it, which is where iptables' O(n)
 * shows. Figures: p50/p90/p99 of the handshake and of the first HTTP byte.
 *
 * Bounded: `count` connections per point, a 3 s timeout each, and every
 * namespace and process removed at the end, on failure and on SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { BenchRecorder } from '../../src/bench/result.ts';
import { SYNC_TIME_CHART } from '../../src/bench/shared-charts.ts';
import { sysctlIn } from '../../src/lab/netns.ts';
import { ProxyTopology } from '../../test/helpers/proxy-topology.ts';
import type { DatapathMode } from './datapath.node.ts';
import { hasProgram, LineProcess, Teardowns } from './lab-helpers.ts';

// `--uml` (scripts/bench/datapath-ipvs, inside a User-Mode Linux guest): the ipvs mode, which the host kernel lacks.
const uml = process.argv.includes('--uml');
const recorder = new BenchRecorder(uml ? 'datapath-ipvs' : 'datapath');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1, or --quick in the guest): 100 and 1,000 services, 100 connections per point.
const quick = recorder.quick || process.argv.includes('--quick');
const SIZES = quick ? [100, 1000] : [100, 1000, 5000, 10_000];
const CONNECTIONS = quick ? 100 : 1000;
// iptables-nft-restore is superlinear in the number of chains (the iptables suite: 1k services × 10
// endpoints take about a minute), so the full run stops nft at 5k services (15k chains).
const sizesFor = (mode: DatapathMode) => (mode === 'iptables-nft' ? SIZES.filter((n) => n <= 5000) : SIZES);
const WARMUP = 20;
const MODES: readonly DatapathMode[] = uml ? ['ipvs'] : ['iptables-nft', 'iptables-legacy', 'userspace'];
const MODE_TOOLS: Record<DatapathMode, string> = { 'iptables-nft': 'iptables-nft-restore', 'iptables-legacy': 'iptables-legacy-restore', userspace: 'iptables-restore', ipvs: 'ipset' };

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const teardowns = new Teardowns();
const context = teardowns.context;

interface Samples {
  connectMs: number[];
  responseMs: number[];
  failures: number;
}

const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

/** measureMode programs each size with one mode and measures; returns false when the mode could not run. */
async function measureMode(topo: Topology, client: LineProcess, mode: DatapathMode): Promise<void> {
  const node = new LineProcess(teardowns, topo.node, here('datapath.node.ts'), [mode]);
  const endpoints = topo.pods.map((p) => `${p.ip}:8080`);
  try {
    for (const n of sizesFor(mode)) {
      const sync = await node.ask<{ ok: boolean; error?: string; syncMs: number; attempts: number; clusterIP: string }>({ op: 'sync', services: n, endpoints }, 600_000);
      if (!sync.ok) throw new Error(`${mode} sync of ${n} services failed: ${sync.error}`);
      if (sync.attempts > 1) recorder.note(`${mode}, ${n} services: the sync succeeded at attempt ${sync.attempts} (earlier ones failed, e.g. on the shared xtables lock).`);
      const s = await client.ask<Samples>({ host: sync.clusterIP, port: 80, count: CONNECTIONS, warmup: WARMUP }, (CONNECTIONS + WARMUP) * 3500);
      await node.ask({ op: 'reset' }, 120_000);
      report(mode, n, sync.syncMs, s);
    }
  } finally {
    await node.close();
  }
}

function report(mode: DatapathMode, n: number, syncMs: number, s: Samples): void {
  const f = (v: number) => v.toFixed(3).padStart(8);
  console.log(`${mode.padEnd(16)} ${String(n).padStart(6)} services  sync ${syncMs.toFixed(0).padStart(6)} ms  connect p50/p90/p99 ${f(pct(s.connectMs, 50))} ${f(pct(s.connectMs, 90))} ${f(pct(s.connectMs, 99))} ms  first byte p50/p99 ${f(pct(s.responseMs, 50))} ${f(pct(s.responseMs, 99))} ms  failures ${s.failures}/${CONNECTIONS}`);
  const id = `${mode}_${n}`.replace(/-/g, '_');
  for (const p of [50, 90, 99]) {
    recorder.figure({ id: `${id}_connect_p${p}_ms`, label: `${mode}, ${n} services: connect p${p}`, value: pct(s.connectMs, p), unit: 'ms' });
  }
  recorder.figure({ id: `${id}_response_p50_ms`, label: `${mode}, ${n} services: first HTTP byte p50`, value: pct(s.responseMs, 50), unit: 'ms' });
  recorder.figure({ id: `${id}_failures`, label: `${mode}, ${n} services: failed connections of ${CONNECTIONS}`, value: s.failures, unit: 'connections' });
  const series = uml ? `${mode} (UML guest)` : mode;
  recorder.point({ chart: 'datapath_connect_p50', series, x: n, y: pct(s.connectMs, 50) });
  recorder.point({ chart: 'datapath_connect_p99', series, x: n, y: pct(s.connectMs, 99) });
  recorder.point({ chart: 'datapath_response_p50', series, x: n, y: pct(s.responseMs, 50) });
  if (mode === 'userspace') {
    recorder.figure({ id: `${id}_sync_ms`, label: `userspace, ${n} services: first sync from empty`, value: syncMs, unit: 'ms' });
    recorder.point({ chart: SYNC_TIME_CHART.id, series: 'userspace (2 endpoints per service)', x: n, y: syncMs });
  }
}

async function main(): Promise<void> {
  const title = (what: string) => `${what} to the last service vs number of services (fresh TCP connections)`;
  recorder.chart({ id: 'datapath_connect_p50', title: title('First-packet latency p50'), xTitle: 'services', yTitle: 'TCP handshake p50 (ms)', kind: 'line', logX: true, logY: true });
  recorder.chart({ id: 'datapath_connect_p99', title: title('First-packet latency p99'), xTitle: 'services', yTitle: 'TCP handshake p99 (ms)', kind: 'line', logX: true, logY: true });
  recorder.chart({ id: 'datapath_response_p50', title: title('First HTTP byte p50'), xTitle: 'services', yTitle: 'first byte p50 (ms)', kind: 'line', logX: true, logY: true });
  recorder.chart(SYNC_TIME_CHART);
  process.stderr.write(`building topology (2 pods); sizes ${SIZES.join(', ')}; ${CONNECTIONS} connections per point\n`);
  const topo = uml ? await umlTopology() : await ProxyTopology.create(context, 2);
  for (const ns of [topo.node, topo.ext]) await sysctlIn(ns, 'net.ipv4.tcp_tw_reuse', '1');
  const client = new LineProcess(teardowns, topo.ext, here('datapath.client.ts'), []);
  for (const mode of MODES) {
    if (!(await hasProgram(MODE_TOOLS[mode]))) {
      recorder.note(`${mode}: skipped, ${MODE_TOOLS[mode]} is not installed.`);
      continue;
    }
    process.stderr.write(`${mode}\n`);
    await measureMode(topo, client, mode).catch((err: Error) => {
      process.stderr.write(`${mode} failed: ${err.message}\n`);
      recorder.note(`${mode}: failed: ${err.message.split('\n')[0]}`);
    });
  }
  if (sizesFor('iptables-nft').length < SIZES.length) recorder.note('iptables-nft stops at 5,000 services: iptables-nft-restore grows superlinearly with the number of chains.');
  if (uml) recorder.note('ipvs is measured inside a User-Mode Linux guest, where every packet costs far more than on the host: compare the shape of its series (flat or rising with the number of services), not its level.');
  else recorder.note('ipvs runs in the datapath-ipvs suite, under User-Mode Linux (the host kernel has no IPVS).');
  recorder.note('Latencies are measured by a Node client (event-loop time included) on a shared, loaded machine: compare modes and sizes within one run.');
  await client.close();
  // The guest's files do not reach the host: its half prints the run for the host half to save.
  if (uml) console.log(`BENCH_JSON ${JSON.stringify(recorder.run())}`);
  else recorder.write();
}

type Topology = Pick<ProxyTopology, 'node' | 'ext' | 'pods'>;

/** umlTopology builds the same lab in the UML guest (test/uml/scenarios/topology.ts: plain-JS pods, which start fast there). */
async function umlTopology(): Promise<Topology> {
  const { UmlTopology } = await import('../../test/uml/scenarios/topology.ts');
  const topo = await UmlTopology.create(2);
  teardowns.add(() => topo.fixture.destroy());
  return topo;
}

teardowns.onSignals();
try {
  await main();
} finally {
  await teardowns.runFrom();
}
