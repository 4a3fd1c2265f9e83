import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16: server-side apply on the status subresource, as kube-apiserver:
 * only status is applied, the manager's entry carries `subresource: status`,
 * fields it stops applying go, other status managers conflict, and an apply
 * to the status of a missing object is a 404. kubectl 1.32+ sends it for
 * `apply --server-side --subresource=status` (1.27 has no such flag).
 */
const kubectlVersions = ['1.32', '1.33'].map((v) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`).filter((p) => existsSync(p));

const path = '/apis/apps/v1/namespaces/default/deployments/web';
const deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
};
const withStatus = (status: Record<string, unknown>, spec?: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, ...(spec ? { spec } : {}), status });

async function apply(url: string, target: string, manager: string, body: unknown, extra = ''): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${target}?fieldManager=${manager}${extra}`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const entry = (obj: any, manager: string) => (obj.metadata.managedFields as Array<{ manager: string; operation: string; subresource?: string; fieldsV1: any }>).find((m) => m.manager === manager);

test('apply on /status sets only status, is tracked with subresource status, drops what it stops applying, and conflicts with another status manager', async (t) => {
  const { url } = await startServer(t);
  t.is((await apply(url, path, 'app', deployment)).status, 201);

  // A spec in a status apply is ignored, as the status strategy resets it.
  const first = await apply(url, `${path}/status`, 'ctl', withStatus({ replicas: 2, readyReplicas: 1 }, { replicas: 9 }));
  t.is(first.status, 200, JSON.stringify(first.json));
  t.deepEqual(first.json.status, { replicas: 2, readyReplicas: 1 });
  t.is(first.json.spec.replicas, 2);
  const ctl = entry(first.json, 'ctl');
  t.like(ctl, { operation: 'Apply', subresource: 'status' });
  t.deepEqual(ctl!.fieldsV1, { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } });
  t.like(entry(first.json, 'app'), { operation: 'Apply' });
  t.is(entry(first.json, 'app')!.subresource, undefined);

  const shrunk = await apply(url, `${path}/status`, 'ctl', withStatus({ replicas: 2 }));
  t.is(shrunk.status, 200);
  t.deepEqual(shrunk.json.status, { replicas: 2 });

  const conflict = await apply(url, `${path}/status`, 'other', withStatus({ replicas: 3 }));
  t.is(conflict.status, 409);
  t.is(conflict.json.message, 'Apply failed with 1 conflict: conflict with "ctl" using apps/v1: .status.replicas');
  const forced = await apply(url, `${path}/status`, 'other', withStatus({ replicas: 3 }), '&force=true');
  t.is(forced.status, 200);
  t.is(forced.json.status.replicas, 3);
  t.is(entry(forced.json, 'ctl'), undefined);

  // A main-resource apply leaves status and its managers alone.
  const main = await apply(url, path, 'app', { ...deployment, spec: { ...deployment.spec, replicas: 4 } });
  t.is(main.status, 200);
  t.is(main.json.status.replicas, 3);
  t.like(entry(main.json, 'other'), { subresource: 'status' });
});

test('apply on the status of a missing object is a 404 and creates nothing', async (t) => {
  const { url } = await startServer(t);
  const missing = await apply(url, `${path}/status`, 'ctl', withStatus({ replicas: 1 }));
  t.is(missing.status, 404);
  t.is(missing.json.reason, 'NotFound');
  t.is((await fetch(`${url}${path}`)).status, 404);
});

for (const bin of kubectlVersions) {
  test(`${bin}: apply --server-side --subresource=status`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const run = (...args: string[]) => kubectl(bin, url, join(dir, 'cache'), args);
    const file = join(dir, 'web.yaml');
    await writeFile(file, JSON.stringify({ ...deployment, metadata: { name: 'web', namespace: 'default' } }));
    t.is((await run('apply', '--server-side', '-f', file)).code, 0);
    await writeFile(file, JSON.stringify({ ...withStatus({ replicas: 2, availableReplicas: 2 }), metadata: { name: 'web', namespace: 'default' } }));
    const applied = await run('apply', '--server-side', '--subresource=status', '--field-manager=status-writer', '-f', file);
    t.is(applied.code, 0, applied.stderr);
    t.regex(applied.stdout, /deployment.apps\/web serverside-applied/);
    t.is((await run('get', 'deployment/web', '-o', 'jsonpath={.status.availableReplicas}')).stdout, '2');
    const managed = await run('get', 'deployment/web', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[?(@.manager=="status-writer")].subresource}');
    t.is(managed.stdout, 'status');
  });
}
