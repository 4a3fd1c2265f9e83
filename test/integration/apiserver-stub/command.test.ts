import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { kubectl, kubectls, startApiserverProcess, tempDir } from './server-fixture.ts';

/** `ferry apiserver` as a process: flags, the printed kubectl hint, the kubeconfig it writes, token auth, the Unix socket. */
function status(options: RequestOptions, tls: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : request)({ ...options, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('ferry apiserver: prints how to reach it, writes a kubeconfig, serves HTTPS and the Unix socket with token auth', async (t) => {
  const dir = await tempDir(t);
  // kubectl sends bearer tokens only over HTTPS: serve with a throwaway self-signed certificate.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, 'tok123,admin,1,"system:masters"\n');
  const socketPath = join(dir, 'run', 'api.sock');
  const { child, out } = await startApiserverProcess(t, ['--data-dir', dir, '--unix-socket', socketPath, '--token-auth-file', tokenFile, '--tls-cert-file', join(dir, 'cert.pem'), '--tls-private-key-file', join(dir, 'key.pem')]);
  const url = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  t.regex(out, /kubectl --server https:\/\/127\.0\.0\.1:\d+ get namespaces/);
  const bin = kubectls()[0];
  if (bin) {
    const r = await kubectl(bin, url, join(dir, 'cache'), ['--kubeconfig', join(dir, 'kubeconfig'), 'get', 'ns', '-o', 'name']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /namespace\/kube-system/);
  }
  const port = Number(new URL(url).port);
  t.is(await status({ host: '127.0.0.1', port, path: '/api/v1/namespaces' }, true), 401);
  t.is(await status({ host: '127.0.0.1', port, path: '/api/v1/namespaces', headers: { Authorization: 'Bearer tok123' } }, true), 200);
  t.is(await status({ socketPath, path: '/api/v1/namespaces/default' }, false), 200, 'the socket (mode 0600) is the local admin');
  t.is(await status({ socketPath, path: '/api/v1/namespaces/default', headers: { Authorization: 'Bearer tok123' } }, false), 200);
  t.is(await status({ socketPath, path: '/api/v1/namespaces/default', headers: { Authorization: 'Bearer wrong' } }, false), 401, 'a token given is checked');
  t.is(statSync(socketPath).mode & 0o777, 0o600);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.is(code, 0);
});

test('ferry apiserver: bad flags are a usage error', async (t) => {
  const child = spawn('./bin/ferry', ['apiserver', '--storage', 'floppy'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.not(code, 0);
  t.regex(err, /storage/);
});

test('ferry apiserver by default: HTTPS with its own CA, the admin token in the kubeconfig, RBAC, 401 for anonymous but health and version; --plain-http only on loopback; a bad mode is a usage error', async (t) => {
  const bad = spawn('./bin/ferry', ['apiserver', '--storage', 'memory', '--authorization-mode', 'Node,ABAC'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  bad.stderr.on('data', (c: Buffer) => (err += c.toString()));
  t.not(await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c))), 0);
  t.regex(err, /--authorization-mode Node,ABAC: "ABAC" is not one of AlwaysAllow, Node, RBAC/);
  const plainOff = spawnSync('./bin/ferry', ['apiserver', '--plain-http', '--listen', '0.0.0.0:0', '--storage', 'memory'], { encoding: 'utf8', timeout: 30_000 });
  t.not(plainOff.status, 0);
  t.regex(plainOff.stderr, /--plain-http serves without TLS or authentication: only on a loopback address, not 0\.0\.0\.0/);

  const dir = await tempDir(t);
  const socketPath = join(dir, 'api.sock');
  const { child, out } = await startApiserverProcess(t, ['--data-dir', dir, '--unix-socket', socketPath]);
  const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  t.is(await status({ host: '127.0.0.1', port, path: '/api/v1/namespaces' }, true), 401);
  t.is(await status({ host: '127.0.0.1', port, path: '/version' }, true), 200);
  t.is(await status({ host: '127.0.0.1', port, path: '/readyz' }, true), 200);
  t.is(await status({ socketPath, path: '/api/v1/namespaces/default' }, false), 200);
  // kubectl with nothing but the written kubeconfig: the CA verifies the server, the token is system:masters.
  const env = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') };
  const who = spawnSync('kubectl', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'], { encoding: 'utf8', env, timeout: 30_000 });
  t.is(who.status, 0, who.stderr);
  t.regex(who.stdout, /system:masters/);
  const nobody = spawnSync('kubectl', ['get', 'namespaces', '--token', 'not-a-token'], { encoding: 'utf8', env, timeout: 30_000 });
  t.regex(nobody.stderr, /Unauthorized|must be logged in/);
  child.kill('SIGTERM');
  t.is(await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))), 0);
});
