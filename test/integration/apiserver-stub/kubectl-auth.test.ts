import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { call } from './rest-crud.ts';
import { kubectl, kubectls, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (part 2): `kubectl auth whoami` and `kubectl auth can-i` (and
 * `--list`) answer for the configured auth: anonymous and allowed when the
 * server has no auth; the token's user (with system:authenticated) over
 * HTTPS with a token file. The reviews are create-only and stored nowhere.
 */
for (const bin of kubectls()) {
  test(`kubectl ${bin}: auth whoami and can-i without auth configured`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const k = (...args: string[]) => kubectl(bin, url, join(dir, 'cache'), args);

    const resources = (await k('api-resources', '--no-headers')).stdout;
    t.regex(resources, /^selfsubjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectAccessReview$/m);
    t.regex(resources, /^selfsubjectreviews\s+authentication\.k8s\.io\/v1\s+false\s+SelfSubjectReview$/m);

    const canI = await k('auth', 'can-i', 'create', 'deployments', '-n', 'default');
    t.is(canI.code, 0, canI.stderr);
    t.is(canI.stdout.trim(), 'yes');
    const url2 = await k('auth', 'can-i', 'get', '/healthz');
    t.is(url2.stdout.trim(), 'yes', url2.stderr);
    if (!bin.endsWith('.1.27')) {
      // kubectl 1.27 has whoami only behind KUBECTL_ENABLE_ALPHA... as alpha; 1.32 asks authentication.k8s.io/v1.
      const who = await k('auth', 'whoami', '-o', 'json');
      t.is(who.code, 0, who.stderr);
      t.like(JSON.parse(who.stdout), { kind: 'SelfSubjectReview', status: { userInfo: { username: 'system:anonymous', groups: ['system:unauthenticated'] } } });
    }
    const list = await k('auth', 'can-i', '--list', '-n', 'default');
    t.is(list.code, 0, list.stderr);
    t.regex(list.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
    t.regex(list.stdout, /^\s+\[\*\]\s+\[\]\s+\[\*\]$/m);
  });
}

test('reviews are create-only: GET is 405, an access review needs exactly one attribute set (422)', async (t) => {
  const { url } = await startServer(t);
  const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
  t.is((await call(url, 'GET', path)).status, 405);
  const bad = await call(url, 'POST', path, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: {} });
  t.is(bad.status, 422);
  t.is(bad.body.details.causes[0].field, 'spec.resourceAttributes');
  const ok = await call(url, 'POST', path, { spec: { resourceAttributes: { verb: 'list', resource: 'pods', namespace: 'x' } } });
  t.is(ok.status, 201);
  t.like(ok.body, { kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'list' } }, status: { allowed: true } });
});

test('kubectl auth whoami and can-i over HTTPS with a token file: the token\'s user', async (t) => {
  const bin = kubectls().find((b) => !b.endsWith('.1.27'));
  if (!bin) return t.pass('no kubectl with auth whoami');
  const dir = await tempDir(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = new ApiServer({ backend: createBackend('memory', {}), tokens: new Map([['tok123', { name: 'alice', uid: '42', groups: ['devs'] }]]) });
  await server.start();
  t.teardown(() => server.close());
  const address = await server.listen('127.0.0.1', 0, { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') });
  const url = `https://127.0.0.1:${address.port}`;
  const k = (...args: string[]) => kubectl(bin, url, join(dir, 'cache'), ['--insecure-skip-tls-verify', ...args]);
  const who = await k('--token', 'tok123', 'auth', 'whoami', '-o', 'json');
  t.is(who.code, 0, who.stderr);
  t.deepEqual(JSON.parse(who.stdout).status.userInfo, { username: 'alice', uid: '42', groups: ['devs', 'system:authenticated'] });
  const canI = await k('--token', 'tok123', 'auth', 'can-i', 'delete', 'secrets', '-A');
  t.is(canI.stdout.trim(), 'yes', canI.stderr);
  const stranger = await k('--token', 'nope', 'auth', 'whoami');
  t.not(stranger.code, 0);
  t.regex(stranger.stderr, /Unauthorized|must be logged in/);
});
