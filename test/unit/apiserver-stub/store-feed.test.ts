import test from 'ava';
import { MemoryBackend } from '../../../src/apiserver-stub/storage/memory.ts';
import { StoreFeed } from '../../../src/apiserver-stub/storage/store-feed.ts';
import { droppableStore } from '../../helpers/droppable-store.ts';
import { until } from '../../helpers/until.ts';

// StoreFeed hands its cache each object's revision (what Registry.toObject
// stamps as resourceVersion), says when a list's objects are all in, and
// when the cache has caught up with a revision of the store.

test('puts and removes carry the revision of their write; listed follows the list\'s puts once', async (t) => {
  const backend = new MemoryBackend();
  await backend.start();
  const a = await backend.create('/registry/things/a', { n: 1 });
  const seen: string[] = [];
  const feed = new StoreFeed(backend, '/registry/things/', 'things', {
    reset: () => seen.push('reset'),
    put: (key, _value, revision) => seen.push(`put ${key} @${revision}`),
    remove: (key, _value, revision) => seen.push(`remove ${key} @${revision}`),
    listed: () => seen.push('listed'),
  });
  await feed.start();
  t.teardown(() => feed.close());
  const b = await backend.create('/registry/things/b', { n: 2 });
  const gone = await backend.delete('/registry/things/a');
  await until('the delete seen', async () => seen.length === 5, 2000, 5);
  t.deepEqual(seen, ['reset', `put /registry/things/a @${a.revision}`, 'listed', `put /registry/things/b @${b.revision}`, `remove /registry/things/a @${gone.revision}`]);
});

test('caughtUp says when the cache holds a revision: at once when it does, after the event when one is on its way, never while the watch is down', async (t) => {
  const { memory, backend, drop } = await droppableStore();
  const keys = new Set<string>();
  const feed = new StoreFeed(backend, '/registry/things/', 'things', { reset: () => keys.clear(), put: (key) => void keys.add(key), remove: (key) => void keys.delete(key) });
  await feed.start();
  // The feed's timers do not hold the process open (a server's sockets do): this test's must.
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => {
    clearInterval(alive);
    feed.close();
  });
  await memory.create('/registry/others/x', { n: 0 });
  t.true(await feed.caughtUp(memory.currentRevision(), 0), 'writes elsewhere: caught up at once');
  const a = await memory.create('/registry/things/a', { n: 1 });
  t.false(keys.has('/registry/things/a'), 'the event is still on its way');
  t.true(await feed.caughtUp(a.revision, 1000));
  t.true(keys.has('/registry/things/a'));
  drop();
  const b = await memory.create('/registry/things/b', { n: 2 });
  const started = Date.now();
  t.false(await feed.caughtUp(b.revision, 100), 'the watch is down');
  t.true(Date.now() - started >= 90);
  await until('the relist a second later', async () => keys.has('/registry/things/b'), 3000, 20);
  t.true(await feed.caughtUp(b.revision, 0), 'caught up again');
});
