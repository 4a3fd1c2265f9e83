import test from 'ava';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { kubectl, kubectls, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (RBAC, `--authorization-mode=RBAC`): anonymous TCP requests get
 * kube's 403s (health and version stay public), the Unix socket is the local
 * administrator, token users get what their Roles and bindings give
 * (namespaced Roles, ClusterRoles with aggregation, system:masters), the
 * bootstrap roles let the components' users do their work and no more, and
 * `kubectl auth can-i [--list]` and `whoami` answer from the same policy.
 */
const tokens = new Map([
  ['alice-token', { name: 'alice', uid: '1', groups: ['devs'] }],
  ['root-token', { name: 'root', uid: '2', groups: ['system:masters'] }],
  ['proxy-token', { name: 'system:kube-proxy', uid: '3', groups: [] }],
  ['dns-token', { name: 'system:coredns', uid: '4', groups: [] }],
]);

async function as(url: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

function overSocket(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** until retries a check for up to 2 s: the authorizer follows bindings through the store's watch, as kube's informers. */
async function until(check: () => Promise<boolean>): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < 2000; await new Promise((r) => setTimeout(r, 20))) if (await check()) return true;
  return false;
}

const rbac = (kind: string, name: string, rest: object, namespace?: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...rest });

test('RBAC: anonymous gets 403 in kube words; the Unix socket is admin; health and version are public', async (t) => {
  const { url, server } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC' });
  const list = await as(url, undefined, 'GET', '/api/v1/namespaces/default/pods');
  t.is(list.status, 403);
  t.like(list.body, { kind: 'Status', reason: 'Forbidden', code: 403, message: 'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"' });
  const create = await as(url, undefined, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } });
  t.is(create.body.message, 'configmaps is forbidden: User "system:anonymous" cannot create resource "configmaps" in API group "" in the namespace "default"');
  const del = await as(url, undefined, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/web');
  t.is(del.body.message, 'deployments.apps "web" is forbidden: User "system:anonymous" cannot delete resource "deployments" in API group "apps" in the namespace "default"');
  t.is((await as(url, undefined, 'GET', '/api')).body.message, 'forbidden: User "system:anonymous" cannot get path "/api"');
  for (const path of ['/healthz', '/readyz', '/livez', '/version']) t.is((await as(url, undefined, 'GET', path)).status, 200, path);

  const socketPath = join(await tempDir(t), 'api.sock');
  await server.listenUnix(socketPath);
  t.is((await overSocket(socketPath, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } })).status, 201);
  t.is((await overSocket(socketPath, 'GET', '/api/v1/nodes')).status, 200);
  const roles = (await overSocket(socketPath, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles')).body.items.map((r: any) => r.metadata.name);
  for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:discovery', 'system:node-proxier', 'system:coredns', 'system:kube-scheduler', 'system:kube-controller-manager']) t.true(roles.includes(name), name);
});

test('RBAC: a user bound to a namespaced Role lists pods there and gets 403 elsewhere; aggregation; system:masters; 401 for a bad token', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC', tokens });
  t.is((await as(url, 'wrong', 'GET', '/api')).status, 401);
  t.is((await as(url, undefined, 'GET', '/api')).status, 401, 'with a token file, no token is a 401 as before');
  t.is((await as(url, 'alice-token', 'GET', '/api')).status, 200, 'discovery for every authenticated user');
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/namespaces/team/pods')).status, 403);

  const root = (method: string, path: string, body?: unknown) => as(url, 'root-token', method, path, body);
  t.is((await root('POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status, 201);
  t.is((await root('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', rbac('Role', 'pod-reader', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] }, 'team'))).status, 201);
  t.is((await root('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', rbac('RoleBinding', 'alice-reads', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'User', name: 'alice' }] }, 'team'))).status, 201);
  t.true(await until(async () => (await as(url, 'alice-token', 'GET', '/api/v1/namespaces/team/pods')).status === 200));
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/namespaces/default/pods')).status, 403);
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/pods')).body.message, 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope');
  t.is((await as(url, 'alice-token', 'POST', '/api/v1/namespaces/team/pods', {})).status, 403, 'the Role reads only');
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/namespaces/team/pods/x/log')).status, 403, 'subresources need their own rule');

  // A ClusterRole with an aggregationRule holds the rules of the ClusterRoles its selector matches, bound to a group.
  await root('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', rbac('ClusterRole', 'monitoring', { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-monitoring': 'true' } }] } }));
  await root('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', rbac('ClusterRoleBinding', 'devs-monitor', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'monitoring' }, subjects: [{ kind: 'Group', name: 'devs' }] }));
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/services')).status, 403);
  await root('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { ...rbac('ClusterRole', 'services-reader', { rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list'] }] }), metadata: { name: 'services-reader', labels: { 'example.com/aggregate-to-monitoring': 'true' } } });
  t.true(await until(async () => (await as(url, 'alice-token', 'GET', '/api/v1/services')).status === 200));

  // The bootstrap `view` role aggregates system:aggregate-to-view.
  await root('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', rbac('RoleBinding', 'alice-views', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }] }, 'default'));
  t.true(await until(async () => (await as(url, 'alice-token', 'GET', '/apis/apps/v1/namespaces/default/deployments')).status === 200));
  t.is((await as(url, 'alice-token', 'GET', '/api/v1/namespaces/default/secrets')).status, 403, 'view does not read secrets');
});

test('RBAC: the components\' bootstrap roles let them do their work and no more', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC', tokens });
  // ferry proxy (as system:kube-proxy) lists and watches Services, EndpointSlices and Nodes, and records events.
  for (const path of ['/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/api/v1/nodes', '/api/v1/services?watch=1&timeoutSeconds=1']) t.is((await as(url, 'proxy-token', 'GET', path)).status, 200, path);
  t.is((await as(url, 'proxy-token', 'POST', '/api/v1/namespaces/default/events', { metadata: { name: 'e' }, involvedObject: { kind: 'Node', name: 'n' }, reason: 'Started', message: 'x' })).status, 201);
  t.is((await as(url, 'proxy-token', 'GET', '/api/v1/secrets')).status, 403);
  t.is((await as(url, 'proxy-token', 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } })).status, 403);
  // ferry dns (as CoreDNS's system:coredns) lists and watches what the kubernetes plugin reads.
  for (const path of ['/api/v1/services', '/api/v1/endpoints', '/api/v1/namespaces', '/api/v1/pods', '/apis/discovery.k8s.io/v1/endpointslices']) t.is((await as(url, 'dns-token', 'GET', path)).status, 200, path);
  t.is((await as(url, 'dns-token', 'GET', '/api/v1/configmaps')).status, 403);
});

for (const bin of kubectls().filter((b) => !b.endsWith('.1.27'))) {
  test(`kubectl ${bin}: auth can-i, can-i --list and whoami answer from RBAC over HTTPS`, async (t) => {
    const dir = await tempDir(t);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const server = new ApiServer({ backend: createBackend('memory', {}), tokens, authorizationMode: 'RBAC' });
    await server.start();
    t.teardown(() => server.close());
    const address = await server.listen('127.0.0.1', 0, { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') });
    const url = `https://127.0.0.1:${address.port}`;
    const k = (token: string, ...args: string[]) => kubectl(bin, url, join(dir, `cache-${token}`), ['--insecure-skip-tls-verify', '--token', token, ...args]);
    const root = async (...args: string[]) => {
      const r = await k('root-token', ...args);
      t.is(r.code, 0, r.stderr);
    };
    await root('create', 'namespace', 'team');
    await root('create', 'role', 'pod-reader', '-n', 'team', '--verb=get,list,watch', '--resource=pods');
    await root('create', 'rolebinding', 'alice-reads', '-n', 'team', '--role=pod-reader', '--user=alice');
    t.true(await until(async () => (await k('alice-token', 'auth', 'can-i', 'list', 'pods', '-n', 'team')).stdout.trim() === 'yes'));
    t.is((await k('alice-token', 'auth', 'can-i', 'list', 'pods', '-n', 'default')).stdout.trim(), 'no');
    t.is((await k('root-token', 'auth', 'can-i', '*', '*', '-A')).stdout.trim(), 'yes');
    const listed = await k('alice-token', 'auth', 'can-i', '--list', '-n', 'team');
    t.regex(listed.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    t.regex(listed.stdout, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    t.regex(listed.stdout, /^\s+\[\/api\/\*\]\s+\[\]\s+\[get\]$/m);
    const who = JSON.parse((await k('alice-token', 'auth', 'whoami', '-o', 'json')).stdout);
    t.deepEqual(who.status.userInfo, { username: 'alice', uid: '1', groups: ['devs', 'system:authenticated'] });
    const denied = await k('alice-token', 'get', 'pods', '-n', 'default');
    t.regex(denied.stderr, /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/);
  });
}

/** upgrade asks for an exec stream as kubectl does (an Upgrade request); resolves to the refusal's status and message. */
function upgrade(target: { port?: number; socketPath?: string }, token?: string): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
    const req = request({ host: '127.0.0.1', ...target, path: '/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true', method: 'POST', headers });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(text) as { message: string }).message }));
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
}

test('RBAC: exec and other streams are authorized as `create` on the subresource; the Unix socket passes', async (t) => {
  const { server, port } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC' });
  t.deepEqual(await upgrade({ port }), { status: 403, message: 'pods "web" is forbidden: User "system:anonymous" cannot create resource "pods/exec" in API group "" in the namespace "default"' });
  const socketPath = join(await tempDir(t), 'api.sock');
  await server.listenUnix(socketPath);
  t.is((await upgrade({ socketPath })).status, 404, 'the local admin gets past authorization to the missing pod');
});
