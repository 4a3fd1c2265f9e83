import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { freePort } from '../../../src/util/free-port.ts';
import { join } from 'node:path';
import { startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (RBAC): `ferry dns` runs with only CoreDNS's bootstrap role. The
 * apiserver enforces RBAC; ferry dns authenticates with a token of the user
 * `system:coredns` from its kubeconfig, lists and watches what it serves,
 * and answers for the `kubernetes` Service. Everything is on loopback.
 */
function dig(port: number, name: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=1', '+short', name, 'A'], (_error, stdout) => resolve(stdout.trim()));
  });
}

test('ferry dns works as system:coredns under --authorization-mode=RBAC, and its token may not read secrets', async (t) => {
  const tokens = new Map([['dns-token', { name: 'system:coredns', uid: '4', groups: [] }]]);
  const { url } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC', tokens });
  const dir = await tempDir(t);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${url}", insecure-skip-tls-verify: true}\nusers:\n- name: dns\n  user: {token: dns-token}\ncontexts:\n- name: c\n  context: {cluster: c, user: dns}\ncurrent-context: c\n`);
  const port = await freePort();
  const dns = spawn('./bin/ferry', ['dns', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${port}`, '--health-bind-address', '', '--ready-bind-address', '', '--metrics-bind-address', '', '--upstream', '127.0.0.1:9'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  dns.stderr.on('data', (b: Buffer) => (stderr += b));
  t.teardown(() => {
    dns.kill('SIGKILL');
  });
  let answer = '';
  for (const started = Date.now(); Date.now() - started < 30_000 && answer !== '10.96.0.1'; await new Promise((r) => setTimeout(r, 200))) answer = await dig(port, 'kubernetes.default.svc.cluster.local');
  t.is(answer, '10.96.0.1', stderr);
  t.notRegex(stderr, /forbidden/i);
  const secrets = await fetch(`${url}/api/v1/secrets`, { headers: { Authorization: 'Bearer dns-token' } });
  t.is(secrets.status, 403);
});
