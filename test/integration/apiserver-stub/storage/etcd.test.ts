import test from 'ava';
import { EtcdBackend } from '../../../../src/apiserver-stub/storage/etcd.ts';
import { CompactedError, StoreUnavailableError } from '../../../../src/apiserver-stub/storage/errors.ts';
import { Collector, runConformance } from '../../../unit/apiserver-stub/storage/conformance.ts';
import { EtcdServer, etcdMissing } from './etcd-server.ts';

const missing = etcdMissing();
if (missing) console.log(`SKIP etcd storage tests: ${missing}`);

let server: EtcdServer | undefined;
test.before(async () => {
  if (!missing) server = await EtcdServer.start();
});
test.after.always(async () => {
  await server?.stop();
});

async function openEtcd(): Promise<EtcdBackend> {
  const store = new EtcdBackend({ endpoints: [server!.url], compactionIntervalMs: 0 });
  await store.start();
  return store;
}

// Serial: compaction in one case is global to the shared etcd.
runConformance({ name: 'etcd', serial: true, skip: missing, open: openEtcd });

const maybe = missing ? test.skip : test.serial;

maybe('etcd: objects live under their /registry keys as JSON with revision = mod_revision', async (t) => {
  const store = await openEtcd();
  t.teardown(() => store.close());
  const kv = await store.create('/registry/services/specs/default/web', { spec: { ports: [{ port: 80 }] } });
  const res = await fetch(`${server!.url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(kv.key).toString('base64') }) });
  const body = (await res.json()) as { kvs: Array<{ value: string; mod_revision: string }> };
  t.deepEqual(JSON.parse(Buffer.from(body.kvs[0]!.value, 'base64').toString()), { spec: { ports: [{ port: 80 }] } });
  t.is(Number(body.kvs[0]!.mod_revision), kv.revision);
});

maybe('etcd: two backends on one etcd see each other’s writes and watches', async (t) => {
  const [a, b] = [await openEtcd(), await openEtcd()];
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const got = new Collector();
  const w = await b.watch('/registry/pods/shared/', a.currentRevision(), got.handlers);
  const pod = await a.create('/registry/pods/shared/p', { v: 1 });
  await got.waitFor(1);
  w.close();
  t.is(got.events[0]!.revision, pod.revision);
  t.deepEqual(await b.get(pod.key), pod);
  // A compaction by one apiserver is seen by the other through etcd's error.
  const next = await a.update(pod.key, { v: 2 }, pod.revision);
  await a.compact(next.revision);
  const err = await t.throwsAsync(b.watch('/registry/pods/shared/', pod.revision, new Collector().handlers), { instanceOf: CompactedError });
  t.is(err?.compactRevision, next.revision);
  t.is(err?.requestedRevision, pod.revision);
});

maybe('etcd: an unreachable etcd is StoreUnavailableError', async (t) => {
  const store = new EtcdBackend({ endpoints: ['http://127.0.0.1:9'], compactionIntervalMs: 0 });
  t.teardown(() => store.close());
  await t.throwsAsync(store.start(), { instanceOf: StoreUnavailableError });
});

maybe('etcd: an unpaginated list larger than gRPC’s 4 MiB default works', async (t) => {
  const store = await openEtcd();
  t.teardown(() => store.close());
  const blob = 'x'.repeat(100_000);
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.create(`/registry/configmaps/big/c${i}`, { data: { blob } })));
  const list = await store.list('/registry/configmaps/big/');
  t.is(list.items.length, 50);
});

maybe('etcd: the compactor compacts to the revision seen one interval earlier', async (t) => {
  const store = new EtcdBackend({ endpoints: [server!.url], compactionIntervalMs: 200 });
  await store.start();
  t.teardown(() => store.close());
  const old = await store.create('/registry/leases/compactor/a', { v: 1 });
  await store.update(old.key, { v: 2 }, old.revision);
  await new Promise((r) => setTimeout(r, 700));
  const err = await t.throwsAsync(store.list('/registry/leases/compactor/', { revision: old.revision - 1 }), { instanceOf: CompactedError });
  t.true((err?.compactRevision ?? 0) >= old.revision);
});
