import test from 'ava';
import { startServer, tempDir } from './server-fixture.ts';

/**
 * A write's response is derived from the text the store was given (one
 * serialisation per write): it must read exactly as a GET, a list item and,
 * after a restart of the file store, the object read back from its log.
 */
const base = '/api/v1/namespaces/default/services';
const text = async (url: string, path: string, init?: RequestInit): Promise<{ status: number; text: string }> => {
  const res = await fetch(`${url}${path}`, init);
  return { status: res.status, text: await res.text() };
};
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('create, patch and apply responses read byte for byte as GET, list items and the restarted store', async (t) => {
  const dataDir = await tempDir(t);
  const first = await startServer(t, 'file', { dataDir });
  const created = await text(first.url, base, json({ metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'ünï "x"' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }));
  t.is(created.status, 201, created.text);
  t.is((await text(first.url, `${base}/web`)).text, created.text);
  const patched = await text(first.url, `${base}/web`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { annotations: { note: 'a\nb' } } }) });
  t.is(patched.status, 200, patched.text);
  t.is((await text(first.url, `${base}/web`)).text, patched.text);
  const applied = await text(first.url, `${base}/api?fieldManager=ops`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { ports: [{ port: 81 }] } }) });
  t.is(applied.status, 201, applied.text);
  const list = JSON.parse((await text(first.url, base)).text) as { items: Array<{ metadata: { name: string } }> };
  // The bootstrap's default/kubernetes is listed too.
  t.deepEqual(list.items.filter((i) => i.metadata.name !== 'kubernetes').map((i) => JSON.stringify(i)), [applied.text, patched.text]);
  await first.close();

  const second = await startServer(t, 'file', { dataDir });
  t.is((await text(second.url, `${base}/web`)).text, patched.text);
  t.is((await text(second.url, `${base}/api`)).text, applied.text);
});

test('a patch that renames the object is refused (metadata.name is immutable) and leaves it as it was', async (t) => {
  const { url } = await startServer(t);
  const cms = '/api/v1/namespaces/default/configmaps';
  t.is((await text(url, cms, json({ metadata: { name: 'keep' }, data: { a: '1' } }))).status, 201);
  const before = (await text(url, `${cms}/keep`)).text;
  const renamed = await text(url, `${cms}/keep`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { name: 'other' }, data: { a: '2' } }) });
  t.is(renamed.status, 422);
  const status = JSON.parse(renamed.text) as { message: string; details: { name: string; causes: Array<{ field: string; message: string }> } };
  t.is(status.details.name, 'keep');
  t.deepEqual(status.details.causes.map((c) => c.field), ['metadata.name']);
  t.regex(status.message, /field is immutable/);
  t.is((await text(url, `${cms}/keep`)).text, before);
});
