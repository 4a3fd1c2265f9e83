import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, rm, appendFile, stat, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from '../../../../src/apiserver-stub/storage/file.ts';
import { CorruptStoreError, DataDirLockedError } from '../../../../src/apiserver-stub/storage/errors.ts';
import { Collector, runConformance } from './conformance.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openStore(dataDir: string, snapshotEvery?: number): Promise<FileBackend> {
  const store = new FileBackend({ dataDir, snapshotEvery });
  await store.start();
  return store;
}

runConformance({ name: 'file', open: async (t) => openStore(await tempDir(t)) });

test('file: restart keeps every acknowledged write and revisions keep increasing', async (t) => {
  const dir = await tempDir(t);
  const first = await openStore(dir);
  const writes = await Promise.all(Array.from({ length: 200 }, (_, i) => first.create(`/registry/svc/ns/s${String(i).padStart(3, '0')}`, { i })));
  const updated = await first.update(writes[5]!.key, { i: 'five' }, writes[5]!.revision);
  await first.delete(writes[6]!.key);
  const before = first.currentRevision();
  await first.close();

  const second = await openStore(dir);
  t.teardown(() => second.close());
  t.is(second.currentRevision(), before);
  const { items } = await second.list('/registry/svc/');
  t.is(items.length, 199);
  t.deepEqual(await second.get(updated.key), updated);
  t.is(await second.get(writes[6]!.key), undefined);
  const next = await second.create('/registry/svc/ns/new', {});
  t.true(next.revision > before);
});

test('file: a value that cannot be encoded fails its write alone: no revision, no in-flight key taken', async (t) => {
  const store = await openStore(await tempDir(t));
  t.teardown(() => store.close());
  const before = await store.create('/registry/x/ns/before', {});
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  await t.throwsAsync(store.create('/registry/x/ns/a', { deep }), { code: 'FERRY_ERR_STORE_UNENCODABLE' });
  await t.throwsAsync(store.create('/registry/x/ns/a', { n: 1n } as never), { code: 'FERRY_ERR_STORE_UNENCODABLE' });
  const after = await store.create('/registry/x/ns/a', { ok: true });
  t.is(after.revision, before.revision + 1, 'the failed writes used no revision');
  t.deepEqual((await store.get('/registry/x/ns/a'))?.value, { ok: true });
});

test('file: concurrent writes are all acknowledged, revisions in issue order', async (t) => {
  const store = await openStore(await tempDir(t));
  t.teardown(() => store.close());
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => store.create(`/registry/x/ns/k${i}`, { i })));
  const revisions = results.map((r) => r.revision);
  t.deepEqual(revisions, Array.from({ length: 500 }, (_, i) => revisions[0]! + i), 'issue order = revision order');
  t.is(store.currentRevision(), revisions.at(-1)!);
});

test('file: a write racing an unflushed write of the same key is checked against it', async (t) => {
  const store = await openStore(await tempDir(t));
  t.teardown(() => store.close());
  const first = store.create('/registry/x/ns/a', { v: 1 });
  const second = store.create('/registry/x/ns/a', { v: 2 });
  const a = await first;
  await t.throwsAsync(second, { code: 'FERRY_ERR_STORE_KEY_EXISTS' });
  const update = store.update(a.key, { v: 3 }, a.revision);
  const stale = store.update(a.key, { v: 4 }, a.revision);
  await update;
  await t.throwsAsync(stale, { code: 'FERRY_ERR_STORE_CONFLICT' });
});

test('file: snapshots rotate the log, start-up loads snapshot plus log, history resumes after restart', async (t) => {
  const dir = await tempDir(t);
  const first = await openStore(dir, 50);
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 40 }, (_, i) => first.create(`/registry/x/ns/r${round}-${i}`, { round, i })));
  }
  const mid = first.currentRevision();
  await first.close();
  const names = await readdir(dir);
  t.true(names.filter((n) => n.startsWith('snapshot-')).length === 1, names.join(' '));
  t.true(names.filter((n) => n.startsWith('wal-')).length <= 2, names.join(' '));

  // Which revision the last snapshot holds depends on when the background
  // snapshot finished; the later sessions snapshot rarely, so the delete below
  // stays in the log and must be replayed as history after a restart.
  const second = await openStore(dir);
  await second.delete('/registry/x/ns/r0-0');
  await second.close();
  const third = await openStore(dir);
  t.teardown(() => third.close());
  t.is((await third.list('/registry/x/')).items.length, 159);
  const got = new Collector();
  await third.watch('/registry/x/', mid, got.handlers);
  await got.waitFor(1);
  t.is(got.events[0]!.type, 'DELETED');
  t.deepEqual(got.events[0]!.value, { round: 0, i: 0 });
});

test('file: a torn last record is cut off on start; damage before the end is refused', async (t) => {
  const dir = await tempDir(t);
  const first = await openStore(dir);
  await first.create('/registry/x/ns/a', { v: 1 });
  await first.close();
  const wal = join(dir, (await readdir(dir)).find((n) => n.startsWith('wal-'))!);
  const size = (await stat(wal)).size;
  await appendFile(wal, '{"rev":2,"op":"create","key":"/registry/x/ns/b","val');
  const second = await openStore(dir);
  t.is(second.currentRevision(), 1);
  t.is((await stat(wal)).size, size);
  const b = await second.create('/registry/x/ns/b', { v: 2 });
  t.is(b.revision, 2);
  await second.close();

  await appendFile(wal, 'garbage\n{"rev":9,"op":"delete","key":"/registry/x/ns/a"}\n');
  await t.throwsAsync(openStore(dir), { instanceOf: CorruptStoreError });
});

test('file: a second store on the same data dir is refused', async (t) => {
  const dir = await tempDir(t);
  const first = await openStore(dir);
  t.teardown(() => first.close());
  await t.throwsAsync(openStore(dir), { instanceOf: DataDirLockedError });
});

test('file: a LOCK left by a zombie (exited, not reaped) is taken over; a live owner still holds it', async (t) => {
  // sh starts a short sleep and execs a long one, which never reaps it: the short sleep's pid becomes a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => parent.kill('SIGKILL'));
  const zombie = Number((await once(parent.stdout!, 'data'))[0].toString().trim());
  await waitUntil(async () => (await readFile(`/proc/${zombie}/stat`, 'utf8')).split(') ')[1]!.startsWith('Z'));
  const dir = await tempDir(t);
  await writeFile(join(dir, 'LOCK'), `${zombie}\n`);
  const store = await openStore(dir);
  t.teardown(() => store.close());
  t.is((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid), 'the lock is ours now');
  const other = await tempDir(t);
  await writeFile(join(other, 'LOCK'), `${parent.pid}\n`);
  await t.throwsAsync(openStore(other), { instanceOf: DataDirLockedError });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}
