import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { queryBool } from '../../../src/apiserver-stub/list-options.ts';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16 part 3: boolean query parameters as kube converts them (Python's
 * `watch=True`), and DELETE bodies in protobuf (DeleteOptions), as kubectl
 * drain and helm uninstall send them.
 */
const bin = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33', '/usr/bin/kubectl'].find((p) => existsSync(p))!;

async function post(url: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

/** deleteOptionsProtobuf builds `k8s\0` + runtime.Unknown{TypeMeta{v1, DeleteOptions}, raw DeleteOptions{gracePeriodSeconds: 0}}. */
function deleteOptionsProtobuf(apiVersion: string): Buffer {
  const field = (n: number, bytes: Buffer): Buffer => Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
  const typeMeta = Buffer.concat([field(1, Buffer.from(apiVersion)), field(2, Buffer.from('DeleteOptions'))]);
  const raw = Buffer.from([0x08, 0x00]); // gracePeriodSeconds = 0 (field 1, varint)
  return Buffer.concat([Buffer.from('k8s\0'), field(1, typeMeta), field(2, raw)]);
}

test('queryBool: absent, empty, 0 and false (any case) are false; anything else is true', (t) => {
  for (const v of [null, '', '0', 'false', 'False', 'FALSE']) t.false(queryBool(v), String(v));
  for (const v of ['true', 'True', '1', 'yes', 't']) t.true(queryBool(v), v);
});

test('?watch=True streams events and ?watch=False lists, as for the Python client', async (t) => {
  const { url } = await startServer(t);
  const listed = await fetch(`${url}/api/v1/namespaces?watch=False`);
  t.is(((await listed.json()) as { kind: string }).kind, 'NamespaceList');
  const controller = new AbortController();
  const watched = await fetch(`${url}/api/v1/namespaces?watch=True&allowWatchBookmarks=True`, { signal: controller.signal });
  const reader = watched.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  const event = JSON.parse(first.split('\n')[0]!) as { type: string; object: { kind: string } };
  t.is(event.type, 'ADDED');
  t.is(event.object.kind, 'Namespace');
});

test('DELETE with a protobuf DeleteOptions body honours its gracePeriodSeconds 0 (a bound pod goes at once)', async (t) => {
  const { url } = await startServer(t);
  await post(url, '/api/v1/nodes', { metadata: { name: 'n1' } });
  for (const name of ['graceful', 'now']) await post(url, '/api/v1/namespaces/default/pods', { metadata: { name }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  const graceful = await fetch(`${url}/api/v1/namespaces/default/pods/graceful`, { method: 'DELETE' });
  t.is(graceful.status, 200);
  t.truthy(((await graceful.json()) as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp);
  t.is((await fetch(`${url}/api/v1/namespaces/default/pods/graceful`)).status, 200);
  const now = await fetch(`${url}/api/v1/namespaces/default/pods/now`, { method: 'DELETE', body: deleteOptionsProtobuf('v1'), headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' } });
  t.is(now.status, 200, await now.clone().text());
  t.is((await fetch(`${url}/api/v1/namespaces/default/pods/now`)).status, 404);
});

test(`${bin}: drain deletes the node's pods (its DELETE bodies are protobuf)`, async (t) => {
  const { url } = await startServer(t);
  const cache = join(await tempDir(t), 'cache');
  await post(url, '/api/v1/nodes', { metadata: { name: 'n1' } });
  await post(url, '/api/v1/namespaces/default/pods', { metadata: { name: 'p1' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  const drained = await kubectl(bin, url, cache, ['drain', 'n1', '--force', '--grace-period=0', '--timeout=20s']);
  t.is(drained.code, 0, drained.stderr);
  t.regex(drained.stdout, /pod\/p1 deleted/);
  t.regex(drained.stdout, /node\/n1 drained/);
  t.is((await fetch(`${url}/api/v1/namespaces/default/pods/p1`)).status, 404);
});
