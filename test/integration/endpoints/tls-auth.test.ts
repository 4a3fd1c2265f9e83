import test from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../../src/client/api-client.ts';
import { loadClientConfig } from '../../../src/client/kubeconfig.ts';
import { resources } from '../../../src/client/resources.ts';
import { execFile } from '../../../src/util/exec.ts';
import { serviceObject, sliceObject, until } from './fixtures.ts';

const FERRY = new URL('../../../bin/ferry', import.meta.url).pathname;

/** Child is a spawned `ferry` process whose output is collected; killed at teardown. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.proc = spawn(FERRY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (b: Buffer) => (this.stdout += b));
    this.proc.stderr.on('data', (b: Buffer) => (this.stderr += b));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => execFile('openssl', args, { timeoutMs: 30_000 });
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=ferry-test-ca');
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await ssl('x509', '-req', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'server.crt'), '-days', '1', '-extfile', join(dir, 'san.ext'));
}

function kubeconfig(dir: string, name: string, server: string, token: string): string {
  const file = join(dir, name);
  writeFileSync(file, `apiVersion: v1\nkind: Config\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {cluster: lab, user: proxy}\nclusters:\n- name: lab\n  cluster:\n    server: ${server}\n    certificate-authority: ca.crt\nusers:\n- name: proxy\n  user:\n    token: ${token}\n`);
  return file;
}

// Acceptance 3: kubeconfig with TLS and a bearer token against the apiserver
// started with TLS and --token-auth-file; a wrong token fails with a clear 401
// message and keeps retrying with back-off.
test('ferry proxy over TLS with a bearer token; a wrong token is a clear 401 retried with back-off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-watcher-tls-'));
  const children: Child[] = [];
  t.teardown(() => {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await makeCerts(dir);
  writeFileSync(join(dir, 'tokens.csv'), 'good-token,system:kube-proxy,uid-1\n');
  const api = new Child(['apiserver', '--listen', '127.0.0.1:0', '--tls-cert-file', join(dir, 'server.crt'), '--tls-private-key-file', join(dir, 'server.key'), '--token-auth-file', join(dir, 'tokens.csv'), '--authorization-mode', 'AlwaysAllow', '--storage', 'memory', '--data-dir', join(dir, 'data')]);
  children.push(api);
  await until(() => /listening on https:\/\/127\.0\.0\.1:\d+/.test(api.stdout), 20_000, () => `apiserver did not start: ${api.stderr}`);
  const server = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(api.stdout)![1]!;

  // The client verifies the server against the kubeconfig's CA and sends the token.
  const good = kubeconfig(dir, 'good.yaml', server, 'good-token');
  const client = new ApiClient(loadClientConfig({ kubeconfig: good, env: {} }));
  t.teardown(() => client.close());
  const ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
  await client.create(resources.services, serviceObject('default', 'web', ports));
  await client.create(resources.endpointslices, sliceObject('default', 'web', 'web-1', ports, [{ ip: '10.1.0.5', ready: true, node: 'node-a' }]));

  const proxy = new Child(['proxy', '--mode', 'dry-run', '--kubeconfig', good, '--hostname-override', 'node-a', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--min-sync-period', '100ms']);
  children.push(proxy);
  await until(() => proxy.stdout.includes('"default/web:http"'), 20_000, () => `no synced state: ${proxy.stderr}`);
  const line = JSON.parse(proxy.stdout.split('\n').find((l) => l.includes('"default/web:http"'))!);
  t.deepEqual(line.endpoints['default/web:http'].map((e: { ip: string; port: number }) => `${e.ip}:${e.port}`), ['10.1.0.5:8080']);
  proxy.proc.kill('SIGTERM');
  t.is(await proxy.exited, 0, 'SIGTERM exits 0');

  // An untrusted CA fails TLS verification with a message naming the server.
  const client2 = new ApiClient({ server, token: 'good-token' });
  t.teardown(() => client2.close());
  const tlsErr = await t.throwsAsync(client2.list(resources.services));
  t.regex(tlsErr!.message, new RegExp(`list services on ${server}: .*(certificate|self.signed|issuer)`, 'i'));

  // A wrong token: 401 named clearly, retried with growing gaps, process stays up.
  const bad = kubeconfig(dir, 'bad.yaml', server, 'wrong-token');
  const badProxy = new Child(['proxy', '--mode', 'dry-run', '--kubeconfig', bad, '--hostname-override', 'node-a', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0']);
  children.push(badProxy);
  const failures = () => badProxy.stderr.split('\n').filter((l) => l.includes('Failed to list resource=services'));
  await until(() => failures().length >= 4, 20_000, () => `not enough retries: ${badProxy.stderr}`);
  t.regex(failures()[0]!, new RegExp(`list services on ${server}: 401 Unauthorized`));
  const times = failures().map((l) => {
    const m = /^W\d{4} (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(l)!;
    return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
  });
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.log(`retry gaps (ms): ${gaps.join(', ')}`);
  t.true(gaps.at(-1)! > gaps[0]! && gaps[0]! >= 300, `back-off grows: ${gaps}`);
  t.is(badProxy.proc.exitCode, null, 'still running and retrying');
  t.false(badProxy.stdout.includes('"services"'), 'never synced');
  badProxy.proc.kill('SIGTERM');
  t.is(await badProxy.exited, 0);
  api.proc.kill('SIGTERM');
  await api.exited;
});
