import test from 'ava';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../../src/client/api-client.ts';
import { ApiError, isConflict, isNotFound } from '../../../src/client/errors.ts';
import { resourcePath, resources } from '../../../src/client/resources.ts';

/** An echo server on a Unix socket: answers each request with what it received, or a Status for `/fail/<code>`. */
async function echoServer(t: any): Promise<ApiClient> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-client-'));
  const socket = join(dir, 'api.sock');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const fail = /\/fail\/(\d+)/.exec(req.url ?? '');
      if (fail) {
        res.writeHead(Number(fail[1]), { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: Number(fail[1]) === 404 ? 'NotFound' : 'Conflict', code: Number(fail[1]), message: 'services "x" not found' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, contentType: req.headers['content-type'], auth: req.headers.authorization, body: body ? JSON.parse(body) : undefined }));
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  const client = new ApiClient({ server: `unix://${socket}`, token: 'tok' });
  t.teardown(async () => {
    await client.close();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  return client;
}

const paths: Array<{ name: string; got: string; want: string }> = [
  { name: 'core namespaced', got: resourcePath(resources.services, { namespace: 'ns', name: 's' }), want: '/api/v1/namespaces/ns/services/s' },
  { name: 'core all namespaces', got: resourcePath(resources.pods), want: '/api/v1/pods' },
  { name: 'cluster scoped ignores namespace', got: resourcePath(resources.nodes, { namespace: 'x', name: 'n1', subresource: 'status' }), want: '/api/v1/nodes/n1/status' },
  { name: 'grouped', got: resourcePath(resources.endpointslices, { namespace: 'ns' }), want: '/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices' },
  { name: 'scale subresource', got: resourcePath(resources.deployments, { namespace: 'ns', name: 'd', subresource: 'scale' }), want: '/apis/apps/v1/namespaces/ns/deployments/d/scale' },
];
for (const tc of paths) test(`path: ${tc.name}`, (t) => t.is(tc.got, tc.want));

test('verbs over a unix socket send the right method, path, content type and bearer token', async (t) => {
  const client = await echoServer(t);
  const echo = (x: unknown) => x as { method: string; url: string; contentType?: string; auth?: string; body?: unknown };
  const svc = { metadata: { namespace: 'ns', name: 's', resourceVersion: '5' } };
  const cases: Array<[Promise<unknown>, string, string, string | undefined]> = [
    [client.get(resources.services, 's', { namespace: 'ns' }), 'GET', '/api/v1/namespaces/ns/services/s', undefined],
    [client.create(resources.services, svc), 'POST', '/api/v1/namespaces/ns/services', 'application/json'],
    [client.create(resources.pods, { metadata: { name: 'p' } }, { namespace: 'ns', name: 'p', subresource: 'binding' }), 'POST', '/api/v1/namespaces/ns/pods/p/binding', 'application/json'],
    [client.update(resources.services, svc), 'PUT', '/api/v1/namespaces/ns/services/s', 'application/json'],
    [client.updateStatus(resources.services, svc), 'PUT', '/api/v1/namespaces/ns/services/s/status', 'application/json'],
    [client.patch(resources.services, 's', { a: 1 }, 'merge', { namespace: 'ns' }), 'PATCH', '/api/v1/namespaces/ns/services/s', 'application/merge-patch+json'],
    [client.patch(resources.services, 's', [{ op: 'add' }], 'json', { namespace: 'ns' }), 'PATCH', '/api/v1/namespaces/ns/services/s', 'application/json-patch+json'],
    [client.patch(resources.deployments, 'd', { spec: { replicas: 3 } }, 'strategic', { namespace: 'ns', subresource: 'scale' }), 'PATCH', '/apis/apps/v1/namespaces/ns/deployments/d/scale', 'application/strategic-merge-patch+json'],
    [client.delete(resources.services, 's', { namespace: 'ns' }), 'DELETE', '/api/v1/namespaces/ns/services/s', undefined],
  ];
  for (const [promise, method, url, contentType] of cases) {
    const got = echo(await promise);
    t.is(got.method, method);
    t.is(got.url, url);
    t.is(got.contentType, contentType, `${method} ${url}`);
    t.is(got.auth, 'Bearer tok');
  }
  const listed = echo(await client.request('GET', '/x', undefined, { labelSelector: '!a,!b', limit: 5 }));
  t.is(listed.url, '/x?labelSelector=%21a%2C%21b&limit=5');
});

test('error answers become ApiError with reason, code, server and request', async (t) => {
  const client = await echoServer(t);
  const notFound = await t.throwsAsync(client.request('GET', '/fail/404'));
  t.true(notFound instanceof ApiError);
  t.true(isNotFound(notFound));
  t.regex(notFound!.message, /^GET \/fail\/404 on unix:\/\/.*api\.sock: 404 NotFound: services "x" not found$/);
  t.true(isConflict(await client.request('GET', '/fail/409').catch((e) => e)));
});
