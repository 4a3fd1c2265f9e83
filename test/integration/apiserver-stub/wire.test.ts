import test from 'ava';
import { request } from 'node:http';
import { join } from 'node:path';
import { startServer, tempDir } from './server-fixture.ts';
import { call, readWatch } from './rest-crud.ts';

/** Wire semantics clients depend on: discovery, watch framing and errors, paging, auth, Unix socket, limits. */

test('discovery: /api, /apis, group-versions, /version and health checks', async (t) => {
  const { url } = await startServer(t);
  t.deepEqual((await call(url, 'GET', '/api')).body.versions, ['v1']);
  const groups = (await call(url, 'GET', '/apis')).body;
  t.is(groups.kind, 'APIGroupList');
  t.deepEqual(groups.groups.map((g: { name: string }) => g.name).sort(), ['apiextensions.k8s.io', 'apps', 'authentication.k8s.io', 'authorization.k8s.io', 'batch', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'networking.k8s.io', 'rbac.authorization.k8s.io']);
  const core = (await call(url, 'GET', '/api/v1')).body;
  const svc = core.resources.find((r: { name: string }) => r.name === 'services');
  t.like(svc, { kind: 'Service', namespaced: true, shortNames: ['svc'] });
  t.true(svc.verbs.includes('watch'));
  t.true(core.resources.some((r: { name: string }) => r.name === 'pods/binding'));
  const apps = (await call(url, 'GET', '/apis/apps/v1')).body;
  t.like(apps.resources.find((r: { name: string }) => r.name === 'deployments/scale'), { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  t.is((await call(url, 'GET', '/version')).body.major, '1');
  for (const path of ['/healthz', '/livez', '/readyz']) t.is((await call(url, 'GET', path)).status, 200);
  t.is((await call(url, 'GET', '/apis/nope/v1')).status, 404);
});

test('watch: too old a resourceVersion gets an in-stream 410 ERROR event, then the stream closes', async (t) => {
  const { url, server } = await startServer(t);
  for (let i = 0; i < 3; i++) await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${i}` } });
  await server.backend.compact(server.backend.currentRevision());
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2`);
  t.is(res.status, 200);
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 1);
  t.like(lines[0], { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
});

test('watch: without resourceVersion sends current objects; sendInitialEvents ends them with the initial-events-end bookmark; timeoutSeconds closes', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } });
  const plain = await readWatch(url, '/api/v1/namespaces/default/configmaps?watch=true', 1);
  t.deepEqual(plain.map((e) => e.type), ['ADDED']);
  const streamed = await readWatch(url, '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan', 2);
  t.deepEqual(streamed.map((e) => e.type), ['ADDED', 'BOOKMARK']);
  t.is(streamed[1]!.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true')).status, 422);
  const started = Date.now();
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1`);
  await res.text();
  t.true(Date.now() - started < 5000);
});

test('watch: a bookmark arrives with allowWatchBookmarks, and label selectors filter events', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { bookmarkIntervalMs: 100 });
  const rv = (await call(url, 'GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion;
  const events = await readWatch(url, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=keep`, (evs) => evs.some((e) => e.type === 'ADDED'), async () => {
    await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'skip' } });
    await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'kept', labels: { keep: 'yes' } } });
  });
  t.true(events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'kept'));
  t.false(events.some((e) => e.object.metadata?.name === 'skip'));
  const more = await readWatch(url, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=nothing`, 1);
  t.is(more[0]!.type, 'BOOKMARK');
});

test('list: limit and continue page through everything at one revision', async (t) => {
  const { url } = await startServer(t);
  for (let i = 0; i < 7; i++) await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `p${i}` } });
  const names: string[] = [];
  let token = '';
  let pages = 0;
  let rv: string | undefined;
  do {
    const page = (await call(url, 'GET', `/api/v1/namespaces/default/configmaps?limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`)).body;
    rv ??= page.metadata.resourceVersion;
    t.is(page.metadata.resourceVersion, rv);
    names.push(...page.items.map((i: any) => i.metadata.name));
    token = page.metadata.continue ?? '';
    pages++;
    if (pages === 1) await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'p9-late' } });
  } while (token !== '');
  t.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  t.is(pages, 3);
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/configmaps?limit=2&continue=garbage')).status, 400);
});

test('field selectors: metadata.name, spec.nodeName, status.phase, involvedObject.*; unknown fields are 400', async (t) => {
  const { url } = await startServer(t);
  const pod = (name: string, nodeName?: string) => ({ metadata: { name }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] } });
  await call(url, 'POST', '/api/v1/namespaces/default/pods', pod('on-a', 'a'));
  await call(url, 'POST', '/api/v1/namespaces/default/pods', pod('pending'));
  const names = async (q: string) => (await call(url, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(q)}`)).body.items.map((p: any) => p.metadata.name);
  t.deepEqual(await names('spec.nodeName=a'), ['on-a']);
  t.deepEqual(await names('spec.nodeName='), ['pending']);
  t.deepEqual(await names('status.phase=Pending,metadata.name!=on-a'), ['pending']);
  t.deepEqual(await names('metadata.namespace=default,metadata.name=on-a'), ['on-a']);
  await call(url, 'POST', '/api/v1/namespaces/default/events', { metadata: { name: 'e1' }, involvedObject: { kind: 'Service', name: 'web', namespace: 'default' }, reason: 'Test' });
  const ev = await call(url, 'GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Service,involvedObject.name=web')}`);
  t.is(ev.body.items.length, 1);
  const bad = await call(url, 'GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx');
  t.is(bad.status, 400);
  t.regex(bad.body.message, /field label not supported: spec.bogus/);
});

test('auth: with a token file, requests without a valid bearer token get 401 Status; health stays open', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { tokens: new Map([['s3cret', { name: 'admin', uid: '1', groups: [] }]]) });
  const denied = await call(url, 'GET', '/api/v1/namespaces');
  t.is(denied.status, 401);
  t.like(denied.body, { kind: 'Status', reason: 'Unauthorized', code: 401 });
  const wrong = await fetch(`${url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer nope' } });
  t.is(wrong.status, 401);
  const ok = await fetch(`${url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer s3cret' } });
  t.is(ok.status, 200);
  t.is((await call(url, 'GET', '/healthz')).status, 200);
});

test('unix socket: the same API over a Unix socket', async (t) => {
  const { server } = await startServer(t);
  const socketPath = join(await tempDir(t), 'api.sock');
  await server.listenUnix(socketPath);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath, path: '/api/v1/namespaces/default', method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  t.is(JSON.parse(body).metadata.name, 'default');
});

test('errors: 404, 405, 409, 413, 415 and 422 come back as Status objects', async (t) => {
  const { url } = await startServer(t);
  const expect = async (status: number, reason: string, method: string, path: string, body?: unknown, type?: string) => {
    const r = await call(url, method, path, body, type);
    t.is(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    t.like(r.body, { kind: 'Status', status: 'Failure', reason, code: status });
  };
  await expect(404, 'NotFound', 'GET', '/api/v1/namespaces/default/services/none');
  await expect(404, 'NotFound', 'POST', '/api/v1/namespaces/nons/services', { metadata: { name: 'x' }, spec: { ports: [{ port: 1 }] } });
  await expect(405, 'MethodNotAllowed', 'PUT', '/api/v1/namespaces/default/services');
  await expect(409, 'AlreadyExists', 'POST', '/api/v1/namespaces', { metadata: { name: 'default' } });
  await expect(413, 'RequestEntityTooLarge', 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'big' }, data: { x: 'a'.repeat(3 * 1024 * 1024 + 10) } });
  await expect(415, 'UnsupportedMediaType', 'PATCH', '/api/v1/namespaces/default/services/kubernetes', 'a: b', 'text/plain');
  // Server-side apply is served: without a fieldManager it is 422, as kube-apiserver.
  await expect(422, 'Invalid', 'PATCH', '/api/v1/namespaces/default/services/kubernetes', 'a: b', 'application/apply-patch+yaml');
  await expect(400, 'BadRequest', 'POST', '/api/v1/namespaces/default/services', '{"metadata":');
  const invalid = await call(url, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'Bad_Name' }, spec: { ports: [{ port: 70000 }, { port: 80, protocol: 'ICMP' }] } });
  t.is(invalid.status, 422);
  const fields = invalid.body.details.causes.map((c: { field: string }) => c.field);
  for (const f of ['metadata.name', 'spec.ports[0].name', 'spec.ports[0].port', 'spec.ports[1].protocol']) t.true(fields.includes(f), `${f} in ${fields.join(',')}`);
});

test('watch with a label selector: leaving the selector is DELETED, entering it is ADDED', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'm', labels: { sel: 'yes' } } });
  const events = await readWatch(url, '/api/v1/namespaces/default/configmaps?watch=1&labelSelector=sel%3Dyes', 3, async () => {
    await new Promise((r) => setTimeout(r, 100));
    await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { sel: 'no' } } }, 'application/merge-patch+json');
    await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { sel: 'yes' } } }, 'application/merge-patch+json');
  });
  t.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED', 'ADDED']);
});

test('watch with a label selector from a list\'s resourceVersion: an object from the list that leaves the selector is DELETED (its last matching content), then ADDED', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'm', labels: { sel: 'yes' } } });
  const list = await call(url, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=sel%3Dyes');
  t.is(list.body.items.length, 1);
  const rv = list.body.metadata.resourceVersion;
  const events = await readWatch(url, `/api/v1/namespaces/default/configmaps?watch=1&labelSelector=sel%3Dyes&resourceVersion=${rv}`, 2, async () => {
    await new Promise((r) => setTimeout(r, 100));
    await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { sel: 'no' } } }, 'application/merge-patch+json');
    await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { sel: 'yes' } } }, 'application/merge-patch+json');
  });
  t.deepEqual(events.map((e) => e.type), ['DELETED', 'ADDED']);
  t.is(events[0]!.object.metadata.labels.sel, 'yes', 'as kube, DELETED carries the content that last matched');
  t.true(Number(events[0]!.object.metadata.resourceVersion) > Number(rv), "at the change's resourceVersion");
});

test('deletion: finalizers and bound pods wait (deletionTimestamp), grace 0 and the last finalizer remove; propagation finalizers and namespaces cascade', async (t) => {
  const { url } = await startServer(t);
  const pods = '/api/v1/namespaces/default/pods';
  const pod = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, ...extra }, spec: { nodeName: 'n1', terminationGracePeriodSeconds: 20, containers: [{ name: 'c', image: 'busybox' }] } });
  await call(url, 'POST', pods, pod('bound'));
  const first = await call(url, 'DELETE', `${pods}/bound`);
  t.is(first.status, 200);
  t.is(first.body.metadata.deletionGracePeriodSeconds, 20);
  t.truthy(first.body.metadata.deletionTimestamp);
  t.is((await call(url, 'GET', `${pods}/bound`)).status, 200, 'a bound pod waits for its node agent');
  const terminating = await call(url, 'PATCH', `${pods}/bound/status`, { status: { phase: 'Running' } }, 'application/merge-patch+json');
  t.is(terminating.status, 200);
  t.is((await call(url, 'GET', `${pods}/bound`)).status, 200, 'status updates while terminating keep the pod');
  t.is((await call(url, 'DELETE', `${pods}/bound?gracePeriodSeconds=0`)).status, 200);
  t.is((await call(url, 'GET', `${pods}/bound`)).status, 404);

  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'fin', finalizers: ['example.com/hold'] } });
  const marked = await call(url, 'DELETE', '/api/v1/namespaces/default/configmaps/fin');
  t.truthy(marked.body.metadata.deletionTimestamp);
  const released = await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: null } }, 'application/merge-patch+json');
  t.is(released.status, 200);
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/configmaps/fin')).status, 404);

  // Dependents by ownerReferences are the garbage collector's (test/integration/controllers/garbage-collector.test.ts); the apiserver only marks the policy.
  const owner = await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'owner' } });
  const orphaning = await call(url, 'DELETE', '/api/v1/namespaces/default/configmaps/owner', { propagationPolicy: 'Orphan' });
  t.deepEqual(orphaning.body.metadata.finalizers, ['orphan'], 'propagationPolicy Orphan leaves the orphan finalizer for the collector');
  t.truthy(orphaning.body.metadata.deletionTimestamp);
  t.is(owner.status, 201);
  const fg = await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'fg' } });
  t.is(fg.status, 201);
  t.deepEqual((await call(url, 'DELETE', '/api/v1/namespaces/default/configmaps/fg?propagationPolicy=Foreground')).body.metadata.finalizers, ['foregroundDeletion']);
  const deadline = Date.now() + 5000;
  await call(url, 'POST', '/api/v1/namespaces', { metadata: { name: 'gone' } });
  await call(url, 'POST', '/api/v1/namespaces/gone/configmaps', { metadata: { name: 'inside' } });
  t.is((await call(url, 'DELETE', '/api/v1/namespaces/gone')).status, 200);
  while ((await call(url, 'GET', '/api/v1/namespaces/gone/configmaps/inside')).status !== 404 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is((await call(url, 'GET', '/api/v1/namespaces/gone/configmaps/inside')).status, 404);
  t.is((await call(url, 'DELETE', '/api/v1/namespaces/kube-system')).status, 403);
});

test('subresources: binding sets nodeName once; status writes only status; scale reads and writes replicas; logs', async (t) => {
  const { url } = await startServer(t);
  const pods = '/api/v1/namespaces/default/pods';
  await call(url, 'POST', pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  t.is((await call(url, 'POST', `${pods}/p/binding`, { metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } })).status, 201);
  t.is((await call(url, 'GET', `${pods}/p`)).body.spec.nodeName, 'n1');
  t.is((await call(url, 'POST', '/api/v1/namespaces/default/bindings', { metadata: { name: 'p' }, target: { name: 'n2' } })).status, 409);
  const status = await call(url, 'PATCH', `${pods}/p/status`, { status: { phase: 'Running', podIP: '10.0.0.5' }, spec: { nodeName: 'ignored' } }, 'application/merge-patch+json');
  t.is(status.body.status.phase, 'Running');
  t.is(status.body.spec.nodeName, 'n1');
  const mainWrite = await call(url, 'PATCH', `${pods}/p`, { status: { phase: 'Failed' }, metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json');
  t.is(mainWrite.body.status.phase, 'Running', 'status only changes through /status');
  t.is((await call(url, 'GET', `${pods}/p?fieldSelector=status.phase%3DRunning`)).status, 200);
  t.is((await call(url, 'GET', `${pods}/p/log`)).status, 404);
  t.is((await call(url, 'PUT', `${pods}/p/log`, 'line 1\nline 2\n', 'text/plain')).status, 200);
  t.is((await call(url, 'GET', `${pods}/p/log?tailLines=1`)).body, 'line 2\n');

  const rs = { metadata: { name: 'r' }, spec: { replicas: 1, selector: { matchLabels: { app: 'r' } }, template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  t.is((await call(url, 'POST', '/apis/apps/v1/namespaces/default/replicasets', rs)).status, 201);
  const scale = await call(url, 'GET', '/apis/apps/v1/namespaces/default/replicasets/r/scale');
  t.like(scale.body, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 }, status: { selector: 'app=r' } });
  const put = await call(url, 'PUT', '/apis/apps/v1/namespaces/default/replicasets/r/scale', { ...scale.body, spec: { replicas: 4 } });
  t.is(put.body.spec.replicas, 4);
  t.is((await call(url, 'PUT', '/apis/apps/v1/namespaces/default/replicasets/r/scale', { ...scale.body, spec: { replicas: 5 } })).status, 409, 'a stale Scale resourceVersion conflicts');
  t.is((await call(url, 'GET', '/apis/apps/v1/namespaces/default/replicasets/r')).body.spec.replicas, 4);
});

test('dryRun=All checks create, patch and delete and persists nothing', async (t) => {
  const { url } = await startServer(t);
  const base = '/api/v1/namespaces/default/services';
  const dry = await call(url, 'POST', `${base}?dryRun=All`, { metadata: { name: 'dry' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  t.is(dry.status, 201);
  t.truthy(dry.body.spec.clusterIP);
  t.is((await call(url, 'GET', `${base}/dry`)).status, 404);
  t.is((await call(url, 'POST', `${base}?dryRun=All`, { metadata: { name: 'dry' }, spec: { ports: [{ port: 0 }] } })).status, 422);
  const before = await call(url, 'GET', `${base}/kubernetes`);
  const patched = await call(url, 'PATCH', `${base}/kubernetes?dryRun=All`, { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
  t.is(patched.body.metadata.labels.x, 'y');
  const after = await call(url, 'GET', `${base}/kubernetes`);
  t.is(after.body.metadata.resourceVersion, before.body.metadata.resourceVersion);
  t.is(after.body.metadata.labels.x, undefined);
  t.is((await call(url, 'DELETE', `${base}/kubernetes?dryRun=All`)).status, 200);
  t.is((await call(url, 'GET', `${base}/kubernetes`)).status, 200);
  t.is((await call(url, 'DELETE', `${base}/kubernetes?dryRun=Some`)).status, 400);
});

test('list: resourceVersionMatch=Exact reads the past; compacted is 410, future is 504', async (t) => {
  const { url, server } = await startServer(t);
  const base = '/api/v1/namespaces/default/configmaps';
  const first = await call(url, 'POST', base, { metadata: { name: 'a' } });
  const rv = first.body.metadata.resourceVersion;
  await call(url, 'POST', base, { metadata: { name: 'b' } });
  const past = await call(url, 'GET', `${base}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
  t.deepEqual(past.body.items.map((i: any) => i.metadata.name), ['a']);
  t.is(past.body.metadata.resourceVersion, rv);
  t.is((await call(url, 'GET', `${base}?resourceVersion=999999&resourceVersionMatch=Exact`)).status, 504);
  t.is((await call(url, 'GET', `${base}?resourceVersionMatch=Exact`)).status, 422);
  await server.backend.compact(server.backend.currentRevision());
  const gone = await call(url, 'GET', `${base}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
  t.is(gone.status, 410);
  t.is(gone.body.reason, 'Expired');
});

test('bootstrap: default/kubernetes on the range first address; with an advertise address its Endpoints and EndpointSlice', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { serviceClusterIPRange: '10.43.0.0/16', advertise: { address: '192.0.2.10', port: 6443 } });
  const svc = (await call(url, 'GET', '/api/v1/namespaces/default/services/kubernetes')).body;
  t.like(svc, { metadata: { labels: { provider: 'kubernetes', component: 'apiserver' } }, spec: { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] } });
  const ep = (await call(url, 'GET', '/api/v1/namespaces/default/endpoints/kubernetes')).body;
  t.is(ep.subsets[0].addresses[0].ip, '192.0.2.10');
  const slices = (await call(url, 'GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes')).body;
  t.deepEqual(slices.items[0].endpoints[0].addresses, ['192.0.2.10']);
});

test('writes accept YAML bodies (application/yaml); malformed YAML is 400', async (t) => {
  const { url } = await startServer(t);
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n';
  const created = await call(url, 'POST', '/api/v1/namespaces/default/configmaps', yaml, 'application/yaml');
  t.is(created.status, 201);
  t.is(created.body.data.k, 'v');
  t.is((await call(url, 'POST', '/api/v1/namespaces/default/configmaps', 'a: [b', 'application/yaml')).status, 400);
  t.is((await call(url, 'POST', '/api/v1/namespaces/default/configmaps', '- 1\n- 2\n', 'application/yaml')).status, 400);
});
