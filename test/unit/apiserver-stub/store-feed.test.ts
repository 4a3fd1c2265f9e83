import test from 'ava';
import { MemoryBackend } from '../../../src/apiserver-stub/storage/memory.ts';
import { StoreFeed } from '../../../src/apiserver-stub/storage/store-feed.ts';
import { until } from '../../helpers/until.ts';

// StoreFeed hands its cache each object's revision (what Registry.toObject
// stamps as resourceVersion) and says when a list's objects are all in.

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
