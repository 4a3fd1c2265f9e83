import test from 'ava';
import { ApiClient } from '../../../src/client/api-client.ts';
import { ApiError, ConnectionError } from '../../../src/client/errors.ts';
import { resources } from '../../../src/client/resources.ts';
import { Informer } from '../../../src/client/informer.ts';
import { byNamespace } from '../../../src/client/store.ts';
import { FakeApiserver } from './fake-apiserver.ts';

const SVC = '/api/v1/services';
const svc = (ns: string, name: string, port = 80) => ({ kind: 'Service', metadata: { namespace: ns, name }, spec: { ports: [{ port }] } });

async function setup(t: any, extra: { watchIdleTimeoutMs?: number } = {}) {
  const api = new FakeApiserver();
  const server = await api.listen();
  const client = new ApiClient({ server }, { requestTimeoutMs: 2000 });
  const events: string[] = [];
  const informer = new Informer<any>({
    client, resource: resources.services, pageSize: 2, indexers: { namespace: byNamespace }, ...extra,
    backoff: { connection: { initialMs: 10, maxMs: 20 }, api: { initialMs: 10, maxMs: 20 } },
  });
  informer.addHandlers({
    onAdd: (o) => events.push(`add ${o.metadata.namespace}/${o.metadata.name}`),
    onUpdate: (a, b) => events.push(`update ${b.metadata.namespace}/${b.metadata.name} ${a.spec.ports[0].port}->${b.spec.ports[0].port}`),
    onDelete: (o) => events.push(`delete ${o.metadata.namespace}/${o.metadata.name}`),
  });
  t.teardown(async () => {
    await informer.stop();
    await client.close();
    await api.close();
  });
  return { api, client, informer, events };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('lists in pages, syncs, then follows the watch', async (t) => {
  const { api, informer, events } = await setup(t);
  for (const n of ['a', 'b', 'c']) api.upsert(SVC, svc('ns1', n));
  informer.start();
  await informer.synced;
  t.true(informer.hasSynced());
  t.deepEqual(events.sort(), ['add ns1/a', 'add ns1/b', 'add ns1/c']);
  t.true(api.requests.some((r) => r.includes('continue=2')), 'second page requested');
  events.length = 0;
  api.upsert(SVC, svc('ns2', 'd'));
  api.upsert(SVC, svc('ns1', 'a', 81));
  api.remove(SVC, 'ns1', 'b');
  await until(() => events.length === 3);
  t.deepEqual(events, ['add ns2/d', 'update ns1/a 80->81', 'delete ns1/b']);
  t.deepEqual(informer.store.byIndex('namespace', 'ns1').map((o) => o.metadata.name).sort(), ['a', 'c']);
  const watch = api.requests.find((r) => r.includes('watch=1'))!;
  t.regex(watch, /allowWatchBookmarks=true/);
  t.regex(watch, /timeoutSeconds=\d+/);
});

test('resumes from the last resourceVersion after a cut connection, without relisting', async (t) => {
  const { api, informer, events } = await setup(t);
  api.upsert(SVC, svc('ns1', 'a'));
  informer.start();
  await informer.synced;
  await until(() => api.requests.some((r) => r.includes('watch=1')));
  api.bookmark(SVC);
  api.cutConnections();
  api.upsert(SVC, svc('ns1', 'b'));
  await until(() => events.includes('add ns1/b'));
  const lists = api.requests.filter((r) => !r.includes('watch=1'));
  t.is(lists.length, 1, 'no relist after a network error');
  const watches = api.requests.filter((r) => r.includes('watch=1'));
  t.true(watches.length >= 2);
  t.deepEqual(events, ['add ns1/a', 'add ns1/b']);
});

test('relists on 410 and emits the difference against the cache', async (t) => {
  const { api, informer, events } = await setup(t);
  for (const n of ['a', 'b', 'c']) api.upsert(SVC, svc('ns1', n));
  informer.start();
  await informer.synced;
  await until(() => api.requests.some((r) => r.includes('watch=1')));
  api.cutConnections();
  // While the watcher is away: changes, then compaction so the resume gets 410.
  api.upsert(SVC, svc('ns1', 'a', 90));
  api.remove(SVC, 'ns1', 'b');
  api.upsert(SVC, svc('ns1', 'e'));
  api.compact();
  await until(() => events.length === 6);
  t.deepEqual(events.slice(3).sort(), ['add ns1/e', 'delete ns1/b', 'update ns1/a 80->90'].sort());
  t.deepEqual([...informer.store.keys()].sort(), ['ns1/a', 'ns1/c', 'ns1/e']);
});

test('keeps retrying a 401 with a message naming the server and the reason', async (t) => {
  const { api, informer } = await setup(t);
  api.failWith = { code: 401, reason: 'Unauthorized', message: 'Unauthorized' };
  informer.start();
  await until(() => api.requests.length >= 3);
  t.false(informer.hasSynced());
  const err = informer.lastError;
  t.true(err instanceof ApiError);
  t.regex(err!.message, /list services on http:\/\/127\.0\.0\.1:\d+: 401 Unauthorized/);
  api.failWith = undefined;
  await informer.synced;
  t.true(informer.hasSynced());
});

test('a refused connection is a ConnectionError naming the server', async (t) => {
  const client = new ApiClient({ server: 'http://127.0.0.1:1' });
  t.teardown(() => client.close());
  const err = await t.throwsAsync(client.list(resources.services));
  t.true(err instanceof ConnectionError);
  t.regex(err!.message, /list services on http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
});

test('stop is idempotent and ends the watch', async (t) => {
  const { informer } = await setup(t);
  informer.start();
  await informer.synced;
  await informer.stop();
  await informer.stop();
  t.pass();
});

test('a silent (half-open) watch is resumed after the idle timeout', async (t) => {
  const { api, informer, events } = await setup(t, { watchIdleTimeoutMs: 200 });
  informer.start();
  await informer.synced;
  await until(() => api.requests.some((r) => r.includes('watch=1')));
  api.freeze();
  api.upsert(SVC, svc('ns1', 'late'));
  await until(() => events.includes('add ns1/late'));
  t.is(api.requests.filter((r) => r.includes('watch=1')).length, 2);
  t.is(api.requests.filter((r) => !r.includes('watch=1')).length, 1, 'resumed, not relisted');
});

test('watch lines split across chunks and several events per chunk are parsed in order', async (t) => {
  const { readWatchEvents } = await import('../../../src/client/watch-stream.ts');
  const { Readable } = await import('node:stream');
  const events = ['{"type":"ADDED","object":{"metadata":{"name":"a"}}}', '{"type":"DELETED","object":{"metadata":{"name":"b"}}}', '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}'];
  const text = events.join('\n') + '\n';
  const chunks = [text.slice(0, 10), text.slice(10, 70), text.slice(70)].map((c) => Buffer.from(c));
  const got: string[] = [];
  for await (const e of readWatchEvents<any>(Readable.from(chunks))) got.push(`${e.type} ${e.object.metadata?.name ?? e.object.metadata?.resourceVersion}`);
  t.deepEqual(got, ['ADDED a', 'DELETED b', 'BOOKMARK 9']);
  const bad = readWatchEvents<any>(Readable.from([Buffer.from('{"type":"NOPE"}\n')]));
  await t.throwsAsync(async () => { for await (const _ of bad) void _; }, { message: /malformed watch event/ });
});

test('watches the server ends at once are retried with back-off, not in a tight loop', async (t) => {
  const { api, informer } = await setup(t);
  api.endWatchesAtOnce = true;
  informer.start();
  await informer.synced;
  const watches = () => api.requests.filter((r) => r.includes('watch=1')).length;
  await until(() => watches() >= 3);
  t.regex(informer.lastError!.message, /very short watch/);
  const before = watches();
  await new Promise((r) => setTimeout(r, 500));
  // Back-off is 10 ms doubling to 20 ms in this setup: at most ~50 attempts in 500 ms, not thousands.
  t.true(watches() - before <= 60, `watch attempts in 500 ms: ${watches() - before}`);
});
