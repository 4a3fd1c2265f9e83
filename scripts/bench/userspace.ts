/**
 * Userspace proxy benchmark. Topology (test/helpers/proxy-topology.ts):
 * client `ext` (192.168.50.2) → node namespace → pods on cbr0. Every mode is
 * reached at the same ClusterIPs from `ext`:
 *
 *   10.96.0.50:5201  iperf3 (one endpoint: iperf3's streams must meet one server)
 *   10.96.0.51:80    HTTP, 3 endpoints: HAProxy in each pod answering a fixed 200
 *
 * Modes: (a) Ferry userspace (scenario process in the node namespace, one
 * engine thread per core as `ferry proxy` runs it; also with a single
 * thread, for comparison),
 * (b) HAProxy in TCP mode in the node namespace, reached by a REDIRECT from
 * the ClusterIP like the userspace portal, (c) plain iptables DNAT in the node
 * namespace (the kernel path iptables mode uses). Rows: iperf3 with 1 and 8
 * streams, wrk keep-alive and wrk with a new connection per request. All
 * traffic stays in lab namespaces and every run is bounded by --seconds.
 */
import type { ExecutionContext } from 'ava';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyTopology } from '../../test/helpers/proxy-topology.ts';
import { ProxyDriver } from '../../test/integration/userspace/proxy-driver.ts';
import { execIn, sysctlIn } from '../../src/lab/netns.ts';
import { BenchRecorder } from '../../src/bench/result.ts';

const args = process.argv.slice(2);
const recorder = new BenchRecorder('userspace');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1) runs each row for 1 s instead of 6 s.
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 0) || (recorder.quick ? 1 : 6);
const WRK_CONNECTIONS = 32;

const IPERF_VIP = '10.96.0.50';
const HTTP_VIP = '10.96.0.51';
const HAPROXY_IPERF_PORT = 15201;
const HAPROXY_HTTP_PORT = 15080;

interface Row {
  name: string;
  unit: string;
  run(topo: ProxyTopology): Promise<number>;
}

const teardowns: Array<() => unknown> = [];
// ProxyTopology and ProxyDriver register their cleanup through an ava-like teardown hook.
const context = { teardown: (fn: () => unknown) => teardowns.push(fn), log: () => {} } as unknown as ExecutionContext;

async function iperf(topo: ProxyTopology, streams: number): Promise<number> {
  const r = await execIn(topo.ext, 'iperf3', ['-c', IPERF_VIP, '-p', '5201', '-t', String(seconds), '-P', String(streams), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  const json = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return json.end.sum_received.bits_per_second / 1e9;
}

async function wrk(topo: ProxyTopology, close: boolean): Promise<number> {
  const extra = close ? ['-H', 'Connection: close'] : [];
  const r = await execIn(topo.ext, 'wrk', ['-t', '1', '-c', String(WRK_CONNECTIONS), '-d', `${seconds}s`, ...extra, `http://${HTTP_VIP}/`], { timeoutMs: (seconds + 20) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  if (errors) process.stderr.write(`  wrk: ${errors[0]}\n`);
  if (process.env.BENCH_DEBUG) process.stderr.write(r.stdout);
  return m ? Number(m[1]) : 0;
}

const allRows: Row[] = [
  { name: 'iperf3 1 stream', unit: 'Gbit/s', run: (t) => iperf(t, 1) },
  { name: 'iperf3 8 streams', unit: 'Gbit/s', run: (t) => iperf(t, 8) },
  { name: 'wrk keep-alive', unit: 'req/s', run: (t) => wrk(t, false) },
  { name: 'wrk new conn/request', unit: 'req/s', run: (t) => wrk(t, true) },
];

const onlyRows = args.includes('--rows') ? args[args.indexOf('--rows') + 1]!.split(',') : undefined;
const rows = allRows.filter((r) => !onlyRows || onlyRows.some((o) => r.name.startsWith(o)));

interface Mode {
  name: string;
  start(topo: ProxyTopology): Promise<() => Promise<void>>;
}

async function nat(topo: ProxyTopology, rules: string): Promise<void> {
  await execIn(topo.node, 'iptables-restore', ['--noflush'], { input: rules });
}

const httpEndpoints = (topo: ProxyTopology) => topo.pods.slice(1).map((p) => `${p.ip}:80`);

const ferryMode = (name: string, env: NodeJS.ProcessEnv): Mode => ({
  name,
  async start(topo) {
    const proxy = await ProxyDriver.start(context, topo, env);
    await proxy.sync([
      { key: 'bench/iperf:data', clusterIP: IPERF_VIP, port: 5201, endpoints: [`${topo.pods[0]!.ip}:5201`] },
      { key: 'bench/http:http', clusterIP: HTTP_VIP, port: 80, endpoints: httpEndpoints(topo) },
    ]);
    return async () => {
      process.stderr.write(`  ferry peak RSS ${((await proxy.maxRssKiB()) / 1024).toFixed(0)} MiB\n`);
      await proxy.cleanup();
      await execIn(topo.node, 'ip', ['route', 'del', '10.96.0.0/16'], { allowFailure: true });
    };
  },
});

/** ferry: as `ferry proxy` runs it (one engine thread per core, see src/userspace/engine/engine.ts). */
const ferry = ferryMode('ferry userspace', {});
/** ferryOneThread: a single engine thread, to show what the second one does here. */
const ferryOneThread = ferryMode('ferry 1 thread', { SCENARIO_TCP_THREADS: '1' });

const haproxy: Mode = {
  name: 'haproxy tcp',
  async start(topo) {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-haproxy-'));
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, [
      'global', '  maxconn 4000', '', 'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 30s', '  timeout server 30s', '',
      `listen iperf`, `  bind 0.0.0.0:${HAPROXY_IPERF_PORT}`, `  server p0 ${topo.pods[0]!.ip}:5201`, '',
      `listen http`, `  bind 0.0.0.0:${HAPROXY_HTTP_PORT}`, '  balance roundrobin',
      ...httpEndpoints(topo).map((ep, i) => `  server p${i} ${ep}`), '',
    ].join('\n'));
    const child = topo.fixture.spawn(topo.node, 'haproxy', ['-db', '-f', cfg]);
    await nat(topo, ['*nat', ':BENCH-HAPROXY - [0:0]', '-A PREROUTING -j BENCH-HAPROXY',
      `-A BENCH-HAPROXY -d ${IPERF_VIP}/32 -p tcp --dport 5201 -j REDIRECT --to-ports ${HAPROXY_IPERF_PORT}`,
      `-A BENCH-HAPROXY -d ${HTTP_VIP}/32 -p tcp --dport 80 -j REDIRECT --to-ports ${HAPROXY_HTTP_PORT}`, 'COMMIT', ''].join('\n'));
    await new Promise((r) => setTimeout(r, 500));
    return async () => {
      child.kill('SIGKILL');
      await nat(topo, ['*nat', '-D PREROUTING -j BENCH-HAPROXY', '-F BENCH-HAPROXY', '-X BENCH-HAPROXY', 'COMMIT', ''].join('\n'));
      rmSync(dir, { recursive: true, force: true });
    };
  },
};

const kernel: Mode = {
  name: 'kernel DNAT',
  async start(topo) {
    const eps = httpEndpoints(topo);
    await nat(topo, ['*nat', ':BENCH-DNAT - [0:0]', '-A PREROUTING -j BENCH-DNAT',
      `-A BENCH-DNAT -d ${IPERF_VIP}/32 -p tcp --dport 5201 -j DNAT --to-destination ${topo.pods[0]!.ip}:5201`,
      // kube-proxy's iptables mode spreads with the statistic match: 1/3, then 1/2, then the rest.
      ...eps.map((ep, i) => `-A BENCH-DNAT -d ${HTTP_VIP}/32 -p tcp --dport 80${i < eps.length - 1 ? ` -m statistic --mode random --probability ${(1 / (eps.length - i)).toFixed(5)}` : ''} -j DNAT --to-destination ${ep}`),
      'COMMIT', ''].join('\n'));
    return () => nat(topo, ['*nat', '-D PREROUTING -j BENCH-DNAT', '-F BENCH-DNAT', '-X BENCH-DNAT', 'COMMIT', ''].join('\n'));
  },
};

async function startBackends(topo: ProxyTopology): Promise<void> {
  topo.fixture.spawn(topo.pods[0]!.ns, 'iperf3', ['-s', '-p', '5201']);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-http-'));
  teardowns.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const pod of topo.pods.slice(1)) {
    const cfg = join(dir, `${pod.name}.cfg`);
    writeFileSync(cfg, ['global', '  maxconn 4000', 'defaults', '  mode http', '  timeout client 30s', '  timeout server 30s', '  timeout connect 2s',
      'frontend web', '  bind 0.0.0.0:80', `  http-request return status 200 content-type text/plain string ${pod.name}`, ''].join('\n'));
    topo.fixture.spawn(pod.ns, 'haproxy', ['-db', '-f', cfg]);
  }
  for (const ns of [topo.node, topo.ext, ...topo.pods.map((p) => p.ns)]) await sysctlIn(ns, 'net.ipv4.tcp_tw_reuse', '1');
  // wrk's new-connection row opens tens of thousands of connections: give the client the whole port range.
  await sysctlIn(topo.ext, 'net.ipv4.ip_local_port_range', '1024 65000');
  await new Promise((r) => setTimeout(r, 700));
}

async function main(): Promise<void> {
  const only = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : undefined;
  // Quick runs (`ferry bench --quick`) leave out the one-thread comparison.
  const modes = (recorder.quick ? [ferry, haproxy, kernel] : [ferry, ferryOneThread, haproxy, kernel]).filter((m) => !only || only.split(',').some((o) => m.name.startsWith(o)));
  process.stderr.write(`${seconds}s per row; a fresh topology (4 pods) per mode, so no mode meets another's TIME_WAIT sockets\n`);
  const results = new Map<string, number[]>();
  for (const mode of modes) {
    process.stderr.write(`${mode.name}\n`);
    const mark = teardowns.length;
    const topo = await ProxyTopology.create(context, 4);
    process.stderr.write(`  namespaces ${topo.fixture.ns('*')}\n`);
    await startBackends(topo);
    const stop = await mode.start(topo);
    try {
      for (const row of rows) {
        const value = await row.run(topo).catch((err: Error) => {
          process.stderr.write(`  ${row.name} failed: ${err.message.slice(0, 300)}\n`);
          return Number.NaN;
        });
        process.stderr.write(`  ${row.name}: ${value.toFixed(2)} ${row.unit}\n`);
        results.set(row.name, [...(results.get(row.name) ?? []), value]);
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await stop();
      await runTeardowns(teardowns.splice(mark));
    }
  }
  printTable(modes, results);
  record(modes, results);
}

/** record gives `ferry bench` each row per mode, Ferry's ratios against the issue's goals, and the charts. */
function record(modes: Mode[], results: Map<string, number[]>): void {
  const id = (row: Row, mode: Mode) => `${row.name}_${mode.name}`.replace(/[^a-z0-9]+/gi, '_');
  recorder.chart({ id: 'userspace_throughput', title: `Bulk TCP throughput through a ClusterIP (iperf3, ${seconds} s)`, xTitle: 'iperf3 streams', yTitle: 'Gbit/s', kind: 'bar' });
  recorder.chart({ id: 'userspace_requests', title: `HTTP requests through a ClusterIP (wrk, ${WRK_CONNECTIONS} connections, ${seconds} s)`, xTitle: 'connection use', yTitle: 'requests/s', kind: 'bar' });
  for (const row of rows) {
    const values = results.get(row.name) ?? [];
    const byMode = new Map(modes.map((m, i) => [m, values[i] ?? Number.NaN]));
    for (const [mode, value] of byMode) {
      if (!Number.isFinite(value)) continue;
      const ref = mode === ferry && byMode.has(haproxy) ? id(row, haproxy) : undefined;
      recorder.figure({ id: id(row, mode), label: `${row.name}, ${mode.name}${mode === haproxy || mode === kernel ? ' (reference)' : ''}`, value, unit: row.unit, ...(ref ? { referenceId: ref } : {}) });
      const chart = row.unit === 'Gbit/s' ? 'userspace_throughput' : 'userspace_requests';
      recorder.point({ chart, series: mode.name, x: row.name.replace(/^(iperf3|wrk) /, ''), y: value });
    }
    const f = byMode.get(ferry);
    const h = byMode.get(haproxy);
    const k = byMode.get(kernel);
    if (f !== undefined && h !== undefined && Number.isFinite(f / h)) recorder.figure({ id: `${id(row, ferry)}_vs_haproxy`, label: `${row.name}: ferry / haproxy`, value: f / h, unit: '×', goal: { op: '>=', value: 1 } });
    if (row.unit === 'Gbit/s' && f !== undefined && k !== undefined && Number.isFinite(f / k)) recorder.figure({ id: `${id(row, ferry)}_vs_kernel`, label: `${row.name}: ferry / kernel DNAT`, value: f / k, unit: '×', goal: { op: '>=', value: 0.3 } });
    if (values.some((v) => !Number.isFinite(v))) recorder.note(`${row.name}: a mode failed to measure (see the log).`);
  }
  recorder.write();
}

async function runTeardowns(fns: Array<() => unknown>): Promise<void> {
  for (const fn of fns.reverse()) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup: ${(err as Error).message}\n`);
    }
  }
}

function printTable(modes: Mode[], results: Map<string, number[]>): void {
  const header = ['row', ...modes.map((m) => m.name)];
  const ferryIdx = modes.indexOf(ferry);
  const haIdx = modes.indexOf(haproxy);
  const kIdx = modes.indexOf(kernel);
  if (ferryIdx >= 0 && haIdx >= 0) header.push('ferry/haproxy');
  if (ferryIdx >= 0 && kIdx >= 0) header.push('ferry/kernel');
  const lines = [header];
  for (const row of rows) {
    const v = results.get(row.name) ?? [];
    const line = [`${row.name} (${row.unit})`, ...v.map((x) => (row.unit === 'req/s' ? x.toFixed(0) : x.toFixed(2)))];
    if (ferryIdx >= 0 && haIdx >= 0) line.push(`${(v[ferryIdx]! / v[haIdx]!).toFixed(2)}×`);
    if (ferryIdx >= 0 && kIdx >= 0) line.push(`${((v[ferryIdx]! / v[kIdx]!) * 100).toFixed(0)}%`);
    lines.push(line);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

try {
  await main();
} finally {
  await runTeardowns(teardowns);
}
