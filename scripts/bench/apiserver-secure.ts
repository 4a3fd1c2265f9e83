import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { BenchRecorder } from '../../src/bench/result.ts';

/** See scripts/bench/apiserver-secure. Goal: creates and lists over HTTPS with RBAC within 1.3x of plain HTTP with AlwaysAllow. */
const { values } = parseArgs({ options: { count: { type: 'string' }, inflight: { type: 'string', default: '64' } } });
const recorder = new BenchRecorder('apiserver-secure');
const count = Number(values.count ?? (recorder.quick ? 1000 : 10000));
const inflight = Number(values.inflight);
const ADMIN = 'bench-admin-token';
const USER = 'bench-user-token';

interface Server {
  url: string;
  process: ChildProcess;
  pool: Pool;
}

/** start runs one apiserver (scratch data dir, removed with it) and a connection pool to it as `token`. */
async function start(secure: boolean): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `ferry-bench-secure-${secure ? 'tls' : 'plain'}-`));
  writeFileSync(join(dir, 'tokens.csv'), `${ADMIN},admin,1,"system:masters"\n${USER},bench,2\n`);
  const mode = secure ? ['--token-auth-file', join(dir, 'tokens.csv')] : ['--plain-http'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'apiserver', ...mode, '--listen', '127.0.0.1:0', '--storage', 'file', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.on('exit', () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https?:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`apiserver exited with ${code}`)));
  });
  const tls = secure ? { connect: { ca: readFileSync(join(dir, 'pki', 'ca.crt')) } } : {};
  return { url, process: child, pool: new Pool(url, { connections: inflight, pipelining: 1, ...tls }) };
}

async function call(s: Server, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await s.pool.request({ path, method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.statusCode, text: await res.body.text() };
}

/** allowUser binds the bench user to `edit` in the bench namespace and waits until the authorizer lets it create there. */
async function allowUser(s: Server): Promise<void> {
  await call(s, ADMIN, 'POST', '/api/v1/namespaces', { metadata: { name: 'bench' } });
  await call(s, ADMIN, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings', {
    metadata: { name: 'bench-edit', namespace: 'bench' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'User', name: 'bench', apiGroup: 'rbac.authorization.k8s.io' }],
  });
  for (let i = 0; ; i++) {
    const probe = await call(s, USER, 'GET', '/api/v1/namespaces/bench/services');
    if (probe.status === 200) return;
    if (i > 100) throw new Error(`the bench user is still refused: ${probe.status} ${probe.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** creates makes `n` services named prefix-i with `inflight` at a time; seconds taken. */
async function creates(s: Server, prefix: string, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < n) {
      const i = next++;
      const r = await call(s, USER, 'POST', '/api/v1/namespaces/bench/services', { metadata: { name: `${prefix}-${i}` }, spec: { ports: [{ port: 80 }] } });
      if (r.status !== 201) throw new Error(`create ${prefix}-${i}: ${r.status} ${r.text}`);
    }
  }));
  return (performance.now() - t0) / 1000;
}

async function lists(s: Server): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const r = await call(s, USER, 'GET', '/api/v1/namespaces/bench/services');
    JSON.parse(r.text);
    ms.push(performance.now() - t0);
  }
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const plain = await start(false);
const secure = await start(true);
await allowUser(plain);
await allowUser(secure);
// Untimed warm-up on both; then the timed creates in halves, plain-secure-secure-plain, so drift on a shared machine hits both alike.
await creates(plain, 'warm', 500);
await creates(secure, 'warm', 500);
const half = Math.floor(count / 2);
const plainFirst = await creates(plain, 'a', half);
const secureSeconds = (await creates(secure, 'a', half)) + (await creates(secure, 'b', count - half));
const plainSeconds = plainFirst + (await creates(plain, 'b', count - half));
const [plainList, secureList] = [await lists(plain), await lists(secure)];
const plainRate = count / plainSeconds;
const secureRate = count / secureSeconds;
const createRatio = plainRate / secureRate;
const listRatio = median(secureList) / median(plainList);
console.log(`apiserver over TLS with RBAC vs plain HTTP with AlwaysAllow (file store, each in its own process, ${inflight} connections, a RoleBinding user; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
console.log(`  create ${count} services: plain ${Math.round(plainRate)}/s, TLS+RBAC ${Math.round(secureRate)}/s: ${createRatio.toFixed(2)}x the time (goal <= 1.3x)`);
console.log(`  list ${count + 500} services: plain median ${median(plainList).toFixed(1)} ms, TLS+RBAC ${median(secureList).toFixed(1)} ms: ${listRatio.toFixed(2)}x (goal <= 1.3x)`);
recorder.figure({ id: 'create_rate_plain', label: `create rate, ${count} services, plain HTTP + AlwaysAllow`, value: plainRate, unit: 'creates/s' });
recorder.figure({ id: 'create_rate_secure', label: `create rate, ${count} services, HTTPS + RBAC`, value: secureRate, unit: 'creates/s' });
recorder.figure({ id: 'create_secure_vs_plain', label: 'create time, HTTPS + RBAC / plain', value: createRatio, unit: 'x', goal: { op: '<=', value: 1.3 } });
recorder.figure({ id: 'list_secure_vs_plain', label: `list ${count + 500} services, HTTPS + RBAC / plain (medians of 7)`, value: listRatio, unit: 'x', goal: { op: '<=', value: 1.3 } });
if (count !== 10000) recorder.note(`${count} services instead of the issue's 10,000 (quick sizes).`);
recorder.write();
await Promise.all([plain.pool.close(), secure.pool.close()]);
process.exit(0);
