/**
 * Issue 19 acceptance: after the seeded fuzz run, `ferry apiserver` (as a
 * process, on the file store, started as bin/ferry starts it) is back under
 * twice its starting resident size once idle (IdleCollector). The in-process fuzz test
 * cannot see this: its RSS is the test runner's. The idle wait covers the
 * YAML worker's 30 s idle stop. 20,000 requests (FERRY_FUZZ_REQUESTS to
 * change it).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runFuzz } from '../../helpers/apiserver-fuzz.ts';
import { tempDir } from './server-fixture.ts';

const REQUESTS = Number(process.env.FERRY_FUZZ_REQUESTS ?? 20_000);

test('fuzz: ferry apiserver returns under 2x its starting RSS after the run', async (t) => {
  t.timeout(600_000);
  const dir = await tempDir(t, 'ferry-fuzz-rss-');
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--disable-admission-plugins', 'ServiceAccount', '--listen', '127.0.0.1:0', '--storage', 'file', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const banner = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
  const deadline = Date.now() + 60_000;
  while (!banner.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start banner: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = banner.exec(out)![1]!;
  const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
  await new Promise((r) => setTimeout(r, 1000));
  const start = rssMb();
  let peak = start;
  const run = await runFuzz({ url, requests: REQUESTS, seed: 19_2026, onProbe: () => (peak = Math.max(peak, rssMb())) });
  const after = rssMb();
  await new Promise((r) => setTimeout(r, 35_000));
  const idle = rssMb();
  t.log(`${REQUESTS} requests in ${run.seconds.toFixed(0)} s, 5xx ${run.failures.length}; RSS start ${start.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, at the end ${after.toFixed(0)} MB, idle ${idle.toFixed(0)} MB (${(idle / start).toFixed(2)}x)`);
  t.deepEqual(run.failures.slice(0, 10), []);
  t.is(child.exitCode, null, 'the apiserver is still running');
  t.true(idle < 2 * start, `idle RSS ${idle.toFixed(0)} MB against ${start.toFixed(0)} MB at the start`);
});
