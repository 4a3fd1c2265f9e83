// Benchmark for hostile input (issue 19); run through scripts/bench/fuzz.
//
// `ferry apiserver` runs on the file store as its own process, so its
// resident memory is its own; the fuzz run of the test suite
// (test/helpers/apiserver-fuzz.ts) is sent to it, RSS is sampled with every
// /readyz probe, and afterwards the apiserver is restarted on the same data
// dir and must list the same objects.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchRecorder } from '../../src/bench/result.ts';
import { listAll, runFuzz } from '../../test/helpers/apiserver-fuzz.ts';

const { values: args } = parseArgs({ options: { requests: { type: 'string' }, seed: { type: 'string', default: '192026' } } });
const recorder = new BenchRecorder('fuzz');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1) sends 3,000 requests instead of 20,000.
const requests = Number(args.requests ?? (recorder.quick ? 3000 : 20_000));
const seed = Number(args.seed);

interface Apiserver {
  readonly url: string;
  readonly child: ChildProcess;
  exited: boolean;
}

async function startApiserver(dataDir: string): Promise<Apiserver> {
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--disable-admission-plugins', 'ServiceAccount', '--listen', '127.0.0.1:0', '--storage', 'file', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = { url: '', child, exited: false };
  child.on('exit', () => (server.exited = true));
  let out = '';
  server.url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`apiserver exited ${code}`)));
  });
  return server;
}

async function stop(server: Apiserver): Promise<void> {
  if (server.exited) return;
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
}

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0; // gone: counted as a crash below
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-fuzz-'));
let first: Apiserver | undefined;
let second: Apiserver | undefined;
try {
  first = await startApiserver(dir);
  const pid = first.child.pid!;
  const startRss = rssOf(pid);
  let peakRss = startRss;
  const run = await runFuzz({ url: first.url, requests, seed, onProbe: () => (peakRss = Math.max(peakRss, rssOf(pid))) });
  await new Promise((r) => setTimeout(r, 2000));
  const crashes = first.exited ? 1 : 0;
  const endRss = rssOf(pid);
  const serverErrors = run.failures.length;
  const before = crashes ? [] : await listAll(first.url);
  await stop(first);
  second = await startApiserver(dir);
  const after = await listAll(second.url);
  const restartSame = crashes === 0 && JSON.stringify(after) === JSON.stringify(before) ? 1 : 0;
  const mb = (n: number) => n / 2 ** 20;
  console.log(`fuzz: seed ${seed}, ${requests} requests in ${run.seconds.toFixed(1)} s, codes ${JSON.stringify(Object.fromEntries([...run.codes].sort()))}`);
  console.log(`fuzz: 5xx or no answer ${serverErrors}, crashes ${crashes}, /readyz p99 ${run.probeP99.toFixed(1)} ms (max ${run.probeMax.toFixed(1)} ms, ${run.probeMs.length} probes)`);
  console.log(`fuzz: apiserver RSS start ${mb(startRss).toFixed(0)} MB, peak ${mb(peakRss).toFixed(0)} MB, end ${mb(endRss).toFixed(0)} MB; restart lists the same ${after.length} objects: ${restartSame ? 'yes' : 'no'}`);
  for (const f of run.failures.slice(0, 5)) console.log(`  ${f}`);
  recorder.figure({ id: 'requests', label: 'fuzz: requests sent', value: requests, unit: 'requests' });
  recorder.figure({ id: 'server_errors', label: 'fuzz: answers 5xx or missing', value: serverErrors, unit: 'requests', goal: { op: '<=', value: 0 } });
  recorder.figure({ id: 'crashes', label: 'fuzz: apiserver crashes', value: crashes, unit: 'crashes', goal: { op: '<=', value: 0 } });
  recorder.figure({ id: 'readyz_p99_ms', label: 'fuzz: /readyz p99 during the run', value: run.probeP99, unit: 'ms', goal: { op: '<=', value: 200 } });
  recorder.figure({ id: 'rss_start_mb', label: 'fuzz: apiserver RSS at the start', value: mb(startRss), unit: 'MB' });
  recorder.figure({ id: 'rss_peak_mb', label: 'fuzz: apiserver peak RSS', value: mb(peakRss), unit: 'MB' });
  recorder.figure({ id: 'rss_end_mb', label: 'fuzz: apiserver RSS after the run', value: mb(endRss), unit: 'MB', goal: { op: '<=', value: 2 * mb(startRss) } });
  recorder.figure({ id: 'restart_same', label: 'fuzz: data dir restarts to the same objects (1 = yes)', value: restartSame, unit: 'bool', goal: { op: '>=', value: 1 } });
  recorder.write();
} finally {
  if (first) await stop(first);
  if (second) await stop(second);
  await rm(dir, { recursive: true, force: true });
}
