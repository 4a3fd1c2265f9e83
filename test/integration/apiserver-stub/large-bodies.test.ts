/**
 * Issue 19: parsing and storing near-limit bodies must not stall health
 * probes. Three JSON and three YAML ConfigMaps of ~2.8 MB (55,000 keys, the
 * worst case for a parser: many small nodes) are written at once while
 * /readyz is probed every 10 ms. Before, one such YAML body held the main
 * thread for ~44 s (the YAML library's pairwise duplicate-key scan) and
 * probes failed; the JSON ones held it for ~0.5 s each.
 */
import test from 'ava';
import { availableParallelism, loadavg } from 'node:os';
import { stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { startServer, tempDir } from './server-fixture.ts';
import type { ExecutionContext } from 'ava';

/** startProcess runs `ferry apiserver` as its own process, as a kubelet would probe it: the client's work stays out of its event loop. */
async function startProcess(t: ExecutionContext): Promise<string> {
  const dir = await tempDir(t);
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--listen', '127.0.0.1:0', '--storage', 'memory', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  while (!/listening on (http:\/\/127\.0\.0\.1:\d+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start banner: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
}

function bigConfigMap(name: string, keys: number): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (let i = 0; i < keys; i++) data[`key-${i}`] = 'v'.repeat(36);
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

async function create(url: string, body: string, contentType: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': contentType }, body });
  await res.arrayBuffer();
  return res.status;
}

/** probeWhile measures /readyz round trips, one every 10 ms, until work settles. */
async function probeWhile<T>(url: string, work: Promise<T>): Promise<{ result: T; latencies: number[] }> {
  const latencies: number[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      const start = performance.now();
      const res = await fetch(`${url}/readyz`);
      await res.text();
      latencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const result = await work.finally(() => (done = true));
  await probing;
  return { result, latencies };
}

test('near-limit JSON and YAML bodies being parsed and stored leave /readyz answering within ~100 ms', async (t) => {
  t.timeout(180_000);
  const url = await startProcess(t);
  const json = JSON.stringify(bigConfigMap('json', 55_000));
  const yaml = stringify(bigConfigMap('yaml', 55_000));
  t.true(json.length > 2.5 * 2 ** 20 && json.length < 3 * 2 ** 20, `JSON body ${json.length} bytes`);
  t.true(yaml.length > 2.5 * 2 ** 20 && yaml.length < 3 * 2 ** 20, `YAML body ${yaml.length} bytes`);
  // One of each first: the schema definitions and the YAML worker start once, on first use.
  t.deepEqual(await Promise.all([create(url, json.replace('"json"', '"warm-json"'), 'application/json'), create(url, yaml.replace('name: yaml', 'name: warm-yaml'), 'application/yaml')]), [201, 201]);

  const started = performance.now();
  const writes = Promise.all([0, 1, 2].flatMap((i) => [create(url, json.replace('"json"', `"json-${i}"`), 'application/json'), create(url, yaml.replace('name: yaml', `name: yaml-${i}`), 'application/yaml')]));
  const { result: codes, latencies } = await probeWhile(url, writes);
  const seconds = (performance.now() - started) / 1000;
  t.deepEqual(codes, [201, 201, 201, 201, 201, 201]);

  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  const p95 = at(0.95);
  const p99 = at(0.99);
  const max = sorted.at(-1)!;
  const load = Math.max(1, loadavg()[0]! / availableParallelism());
  t.log(`6 writes of ~2.8 MB in ${seconds.toFixed(1)} s; /readyz ${latencies.length} probes, median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms (load ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`);
  t.true(latencies.length >= 10, `${latencies.length} probes answered during the writes`);
  // ~100 ms on an idle machine; on one shared with other jobs (load above its cores) the bound scales with the load.
  // The probes' round trips include the client's own scheduling; 150 ms leaves it room past the ~100 ms goal.
  // The slowest probes only show that nothing blocks for long: beside the suite's other worker a few land behind
  // its jobs, which the one-minute load average does not see (326 ms once at load 1.0). The figure is logged above.
  t.true(p95 <= 150 * load, `/readyz p95 ${p95.toFixed(1)} ms (bound ${(150 * load).toFixed(0)} ms at load ${load.toFixed(1)} per core)`);
  t.true(max <= 1_000 * load, `/readyz max ${max.toFixed(1)} ms (bound ${(1_000 * load).toFixed(0)} ms at load ${load.toFixed(1)} per core)`);

  const list = (await (await fetch(`${url}/api/v1/namespaces/default/configmaps/yaml-2`)).json()) as { data: Record<string, string> };
  t.is(Object.keys(list.data).length, 55_000);
});

test('YAML bodies: duplicate keys, cyclic aliases and malformed text are still 400s from the worker', async (t) => {
  const { url } = await startServer(t);
  const post = async (body: string) => {
    const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
    return { code: res.status, message: ((await res.json()) as { message: string }).message };
  };
  const duplicate = await post('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {a: "1", a: "2"}\n');
  t.is(duplicate.code, 400);
  t.regex(duplicate.message, /not valid YAML: Map keys must be unique/);
  const cyclic = await post('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &x {a: *x}\n');
  t.is(cyclic.code, 400);
  t.regex(cyclic.message, /alias refers to a node that contains it/);
  t.is((await post('apiVersion: v1\nkind: [ConfigMap\n')).code, 400);
  // Shared aliases become independent copies.
  const shared = await post('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, labels: &l {app: x}, annotations: *l}\n');
  t.is(shared.code, 201);
});
