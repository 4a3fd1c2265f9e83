import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16 part 6: server-side apply (`application/apply-patch+yaml`) with
 * fieldManager, managedFields per manager and operation, conflicts with
 * kube's message, force, and kubectl's client-side to server-side migration.
 */
const kubectlVersions = ['1.27', '1.32', '1.33'].map((v) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`).filter((p) => existsSync(p));
if (kubectlVersions.length === 0) kubectlVersions.push('/usr/bin/kubectl');

const cmPath = '/api/v1/namespaces/default/configmaps';

async function apply(url: string, name: string, manager: string, body: unknown, extra = ''): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${cmPath}/${name}?fieldManager=${manager}${extra}`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const cm = (data: Record<string, string>, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', ...(labels ? { labels } : {}) }, data });
const managers = (obj: any) => (obj.metadata.managedFields as Array<{ manager: string; operation: string; fieldsV1: unknown }>).map((m) => `${m.manager}/${m.operation}`).sort();

test('apply creates, owns its fields, removes what it stops applying, conflicts in kube words, co-owns equal values, and force moves ownership', async (t) => {
  const { url } = await startServer(t);
  const created = await apply(url, 'cfg', 'alice', cm({ x: '1', y: '2' }, { team: 'a' }));
  t.is(created.status, 201, JSON.stringify(created.json));
  t.deepEqual(managers(created.json), ['alice/Apply']);
  t.deepEqual(created.json.metadata.managedFields[0].fieldsV1, { 'f:data': { 'f:x': {}, 'f:y': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} } } });

  const shrunk = await apply(url, 'cfg', 'alice', cm({ x: '1' }));
  t.is(shrunk.status, 200);
  t.deepEqual(shrunk.json.data, { x: '1' });
  t.is(shrunk.json.metadata.labels, undefined);

  const conflict = await apply(url, 'cfg', 'bob', cm({ x: '2', z: '3' }));
  t.is(conflict.status, 409);
  t.is(conflict.json.reason, 'Conflict');
  t.is(conflict.json.message, 'Apply failed with 1 conflict: conflict with "alice" using v1: .data.x');
  t.deepEqual(conflict.json.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "alice" using v1', field: '.data.x' }]);

  const shared = await apply(url, 'cfg', 'bob', cm({ x: '1', z: '3' }));
  t.is(shared.status, 200);
  t.deepEqual(shared.json.data, { x: '1', z: '3' });
  t.deepEqual(managers(shared.json), ['alice/Apply', 'bob/Apply']);

  const forced = await apply(url, 'cfg', 'bob', cm({ x: '9', z: '3' }), '&force=true');
  t.is(forced.status, 200);
  t.is(forced.json.data.x, '9');
  // alice lost .data.x: when she stops applying anything, bob's fields stay.
  const alice = forced.json.metadata.managedFields.find((m: { manager: string }) => m.manager === 'alice');
  t.is(alice, undefined);

  const noManager = await fetch(`${url}${cmPath}/cfg`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: '{}' });
  t.is(noManager.status, 422);
  t.regex(((await noManager.json()) as { message: string }).message, /fieldManager: Required value: is required for apply patch/);
});

test('updates are tracked per manager: a PUT takes the fields it changes, and an apply then conflicts with it', async (t) => {
  const { url } = await startServer(t);
  t.is((await apply(url, 'cfg', 'alice', cm({ x: '1', y: '2' }))).status, 201);
  const current = (await (await fetch(`${url}${cmPath}/cfg`)).json()) as any;
  const put = await fetch(`${url}${cmPath}/cfg?fieldManager=editor`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...current, data: { x: '5', y: '2' } }) });
  const updated = (await put.json()) as any;
  t.deepEqual(managers(updated), ['alice/Apply', 'editor/Update']);
  t.deepEqual(updated.metadata.managedFields.find((m: { manager: string }) => m.manager === 'editor').fieldsV1, { 'f:data': { 'f:x': {} } });
  const again = await apply(url, 'cfg', 'alice', cm({ x: '1', y: '2' }));
  t.is(again.status, 409);
  t.is(again.json.message, 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.x');
});

test('managedFields: [{}] strips them as kube documents: the object is left without the field, and the next update is tracked afresh', async (t) => {
  const { url } = await startServer(t);
  t.is((await apply(url, 'cfg', 'alice', cm({ x: '1' }))).status, 201);
  const patch = (body: unknown) => fetch(`${url}${cmPath}/cfg?fieldManager=editor`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  const stripped = await patch({ metadata: { managedFields: [{}] } });
  t.is(stripped.status, 200);
  t.false('managedFields' in stripped.json.metadata);
  t.false('managedFields' in ((await (await fetch(`${url}${cmPath}/cfg`)).json()) as any).metadata);
  const next = await patch({ data: { y: '2' } });
  t.deepEqual(managers(next.json), ['editor/Update']);
  t.deepEqual(next.json.metadata.managedFields[0].fieldsV1, { 'f:data': { 'f:y': {} } });
});

test('a keyed list merges by key and is owned per item', async (t) => {
  const { url } = await startServer(t);
  const deploy = (containers: Array<Record<string, unknown>>) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  });
  const path = '/apis/apps/v1/namespaces/default/deployments/web';
  const send = async (manager: string, body: unknown) => {
    const res = await fetch(`${url}${path}?fieldManager=${manager}`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  t.is((await send('app', deploy([{ name: 'web', image: 'web:1' }]))).status, 201);
  const sidecar = await send('mesh', deploy([{ name: 'proxy', image: 'proxy:1' }]));
  t.is(sidecar.status, 200, JSON.stringify(sidecar.json));
  t.deepEqual(sidecar.json.spec.template.spec.containers.map((c: { name: string }) => c.name), ['web', 'proxy']);
  const mesh = sidecar.json.metadata.managedFields.find((m: { manager: string }) => m.manager === 'mesh');
  t.deepEqual(Object.keys(mesh.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']), ['k:{"name":"proxy"}']);
  const bumped = await send('app', deploy([{ name: 'web', image: 'web:2' }]));
  t.deepEqual(bumped.json.spec.template.spec.containers.map((c: { image: string }) => c.image), ['web:2', 'proxy:1']);
});

test('ports are keyed by number and protocol: 53/UDP and 53/TCP stay two items, and a default protocol matches TCP', async (t) => {
  const { url } = await startServer(t);
  const svc = (ports: Array<Record<string, unknown>>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns' }, spec: { selector: { app: 'dns' }, ports } });
  const send = async (body: unknown) => {
    const res = await fetch(`${url}/api/v1/namespaces/default/services/dns?fieldManager=ops`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  const created = await send(svc([{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }]));
  t.is(created.status, 201, JSON.stringify(created.json));
  t.deepEqual(created.json.spec.ports.map((p: { name: string; protocol: string }) => `${p.name}/${p.protocol}`), ['dns/UDP', 'dns-tcp/TCP']);
  t.deepEqual(Object.keys(created.json.metadata.managedFields[0].fieldsV1['f:spec']['f:ports']).sort(), ['k:{"port":53,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}']);
  const again = await send(svc([{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 }]));
  t.is(again.status, 200, JSON.stringify(again.json));
  t.deepEqual(again.json.spec.ports.map((p: { name: string; targetPort: number }) => `${p.name}:${p.targetPort}`), ['dns:53', 'dns-tcp:5353']);
});

for (const bin of kubectlVersions) {
  test(`${bin}: apply --server-side, a conflicting scale, --force-conflicts, and the client-side to server-side migration`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const cache = join(dir, 'cache');
    const run = (...args: string[]) => kubectl(bin, url, cache, args);
    const file = join(dir, 'app.yaml');
    await writeFile(file, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx"}]
`);
    const first = await run('apply', '--server-side', '-f', file);
    t.is(first.code, 0, first.stderr);
    t.regex(first.stdout, /deployment.apps\/web serverside-applied/);
    t.is((await run('scale', 'deployment/web', '--replicas=5')).code, 0);
    const conflicted = await run('apply', '--server-side', '-f', file);
    t.not(conflicted.code, 0);
    t.regex(conflicted.stderr, /Apply failed with 1 conflict: conflict with "kubectl[^"]*" using apps\/v1: \.spec\.replicas/);
    const forced = await run('apply', '--server-side', '--force-conflicts', '-f', file);
    t.is(forced.code, 0, forced.stderr);
    t.is((await run('get', 'deployment/web', '-o', 'jsonpath={.spec.replicas}')).stdout, '2');

    // Client-side apply first, then server-side: kubectl migrates the ownership, so a field dropped later goes.
    const cmFile = join(dir, 'cm.yaml');
    await writeFile(cmFile, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mig, namespace: default}\ndata: {keep: "1", drop: "2"}\n');
    t.is((await run('apply', '-f', cmFile)).code, 0);
    t.is((await run('apply', '--server-side', '-f', cmFile)).code, 0);
    await writeFile(cmFile, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mig, namespace: default}\ndata: {keep: "1"}\n');
    const migrated = await run('apply', '--server-side', '-f', cmFile);
    t.is(migrated.code, 0, migrated.stderr);
    t.notRegex(migrated.stderr, /rejected managed fields migration/);
    t.is((await run('get', 'cm', 'mig', '-o', 'jsonpath={.data}')).stdout, '{"keep":"1"}');
  });
}
