import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { duplicateFields } from '../../../src/apiserver-stub/field-validation.ts';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16 part 2: `fieldValidation=Strict|Warn|Ignore` on create, update and
 * patch, with kube's messages, through the wire and through kubectl.
 */
const kubectlVersions = ['1.27', '1.32', '1.33'].map((v) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`).filter((p) => existsSync(p));
if (kubectlVersions.length === 0) kubectlVersions.push('/usr/bin/kubectl');

const deployment = (extra: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ...extra }] } } },
});

async function send(url: string, method: string, path: string, body: string, contentType = 'application/json'): Promise<{ status: number; json: any; warnings: string | null }> {
  const res = await fetch(`${url}${path}`, { method, body, headers: { 'Content-Type': contentType } });
  return { status: res.status, json: await res.json(), warnings: res.headers.get('warning') };
}

test('duplicateFields finds keys given twice by their path, also in lists and past escaped strings', (t) => {
  t.deepEqual(duplicateFields('{"a":1,"b":{"c":"x\\"}","c":2},"l":[{"n":1,"n":2}],"a":3}'), ['b.c', 'l[0].n', 'a']);
  t.deepEqual(duplicateFields('{"a":[1,2,{"b":true}],"c":null}'), []);
});

test('create: unknown and duplicate fields are a 400 under Strict, warnings under Warn and by default, silent under Ignore', async (t) => {
  const { url } = await startServer(t);
  const base = '/apis/apps/v1/namespaces/default/deployments';
  const bogus = JSON.stringify(deployment({ bogus: 1 })).replace('"replicas":1', '"replicas":1,"replicas":2');
  const strict = await send(url, 'POST', `${base}?fieldValidation=Strict`, bogus);
  t.is(strict.status, 400);
  t.is(strict.json.reason, 'BadRequest');
  t.is(strict.json.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].bogus", duplicate field "spec.replicas"');
  const warned = await send(url, 'POST', `${base}?fieldValidation=Warn`, bogus);
  t.is(warned.status, 201);
  t.is(warned.warnings, '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\"", 299 - "duplicate field \\"spec.replicas\\""');
  const byDefault = await send(url, 'PUT', `${base}/web`, JSON.stringify({ ...deployment({}), status: { bogusStatus: 1 } }));
  t.is(byDefault.status, 200);
  t.is(byDefault.warnings, '299 - "unknown field \\"status.bogusStatus\\""');
  const ignored = await send(url, 'PUT', `${base}/web?fieldValidation=Ignore`, JSON.stringify(deployment({ bogus: 2 })));
  t.is(ignored.status, 200);
  t.is(ignored.warnings, null);
  const clean = await send(url, 'PUT', `${base}/web?fieldValidation=Strict`, JSON.stringify(deployment({ ports: [{ containerPort: 80 }] })));
  t.is(clean.status, 200, JSON.stringify(clean.json));
  const bad = await send(url, 'POST', `${base}?fieldValidation=Loose`, bogus);
  t.is(bad.status, 400);
  t.is(bad.json.message, 'fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"');
});

test('patch: only the fields the patch brings are judged, under each patch type', async (t) => {
  const { url } = await startServer(t);
  const base = '/apis/apps/v1/namespaces/default/deployments';
  t.is((await send(url, 'POST', `${base}?fieldValidation=Warn`, JSON.stringify(deployment({ stale: 1 })))).status, 201);
  const smp = await send(url, 'PATCH', `${base}/web?fieldValidation=Strict`, JSON.stringify({ spec: { bogus: true } }), 'application/strategic-merge-patch+json');
  t.is(smp.status, 400);
  t.is(smp.json.message, 'strict decoding error: unknown field "spec.bogus"');
  const jsonPatch = await send(url, 'PATCH', `${base}/web?fieldValidation=Warn`, JSON.stringify([{ op: 'add', path: '/metadata/bogus', value: 1 }]), 'application/json-patch+json');
  t.is(jsonPatch.status, 200);
  t.is(jsonPatch.warnings, '299 - "unknown field \\"metadata.bogus\\""');
  // The field stored earlier under Warn does not fail a later strict patch of something else.
  const fine = await send(url, 'PATCH', `${base}/web?fieldValidation=Strict`, JSON.stringify({ spec: { replicas: 3 } }), 'application/merge-patch+json');
  t.is(fine.status, 200, JSON.stringify(fine.json));
});

for (const bin of kubectlVersions) {
  test(`${bin}: apply rejects an unknown field by default (strict) and warns under --validate=warn, in kube's words`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const cache = join(dir, 'cache');
    const file = join(dir, 'bad.yaml');
    await writeFile(file, JSON.stringify(deployment({ bogus: 1 })));
    const strict = await kubectl(bin, url, cache, ['apply', '-f', file]);
    t.not(strict.code, 0);
    t.regex(strict.stderr, /Error from server \(BadRequest\): error when creating ".*bad.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers\[0\].bogus"/);
    const warn = await kubectl(bin, url, cache, ['apply', '--validate=warn', '-f', file]);
    t.is(warn.code, 0, warn.stderr);
    t.regex(warn.stderr, /Warning: unknown field "spec.template.spec.containers\[0\].bogus"/);
    t.regex(warn.stdout, /deployment.apps\/web created/);
  });
}
