import test from 'ava';
import { MemoryBackend } from '../../../../src/apiserver-stub/storage/memory.ts';
import { CompactedError, SlowWatcherError } from '../../../../src/apiserver-stub/storage/errors.ts';
import { Collector, runConformance } from './conformance.ts';

runConformance({
  name: 'memory',
  open: async () => {
    const store = new MemoryBackend();
    await store.start();
    return store;
  },
});

test('memory: history keeps the last maxEvents events, older resumes are compacted', async (t) => {
  const store = new MemoryBackend({ history: { maxEvents: 3 } });
  await store.start();
  const revs: number[] = [];
  for (let i = 0; i < 6; i++) revs.push((await store.create(`/registry/x/ns/k${i}`, { i })).revision);
  const err = await t.throwsAsync(store.watch('/registry/x/', revs[1]!, new Collector().handlers), { instanceOf: CompactedError });
  t.is(err?.compactRevision, revs[2]!);
  const got = new Collector();
  const watch = await store.watch('/registry/x/', revs[2]!, got.handlers);
  await got.waitFor(3);
  watch.close();
  t.deepEqual(got.events.map((e) => e.value.i), [3, 4, 5]);
});

test('memory: history forgets events older than maxAgeMs', async (t) => {
  let now = 1_000_000;
  const store = new MemoryBackend({ history: { maxAgeMs: 1000, now: () => now } });
  const a = await store.create('/registry/x/ns/a', {});
  now += 2000;
  const b = await store.create('/registry/x/ns/b', {});
  await t.throwsAsync(store.watch('/registry/x/', a.revision - 1, new Collector().handlers), { instanceOf: CompactedError });
  await t.notThrowsAsync(store.watch('/registry/x/', a.revision, new Collector().handlers));
  t.true(b.revision > a.revision);
});

test('memory: a watcher that stops consuming is dropped with SlowWatcherError, others keep receiving', async (t) => {
  const store = new MemoryBackend({ maxQueuedEvents: 10 });
  let slowClosed: Error | undefined;
  let slowSeen = 0;
  const slow = await store.watch('/registry/x/', 0, {
    onEvent: () => (slowSeen++, false),
    onClose: (reason) => (slowClosed = reason),
  });
  const fast = new Collector();
  await store.watch('/registry/x/', 0, fast.handlers);
  for (let i = 0; i < 30; i++) await store.create(`/registry/x/ns/k${i}`, { i });
  await fast.waitFor(30);
  t.is(slowSeen, 1, 'paused after returning false');
  t.true(slowClosed instanceof SlowWatcherError);
  t.is(fast.closedWith, undefined);
  slow.resume();
});

test('memory: resume() continues a paused watcher in order', async (t) => {
  const store = new MemoryBackend();
  const seen: number[] = [];
  const watch = await store.watch('/registry/x/', 0, { onEvent: (e) => (seen.push(e.value.i as number), seen.length % 2 === 0 ? false : undefined), onClose: () => {} });
  for (let i = 0; i < 6; i++) await store.create(`/registry/x/ns/k${i}`, { i });
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen, [0, 1]);
  watch.resume();
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen, [0, 1, 2, 3]);
  watch.resume();
  watch.resume();
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
});

test('memory: a handler that throws closes only its watcher', async (t) => {
  const store = new MemoryBackend();
  let closed: Error | undefined;
  await store.watch('/registry/x/', 0, { onEvent: () => { throw new Error('boom'); }, onClose: (r) => (closed = r) });
  const ok = new Collector();
  await store.watch('/registry/x/', 0, ok.handlers);
  await store.create('/registry/x/ns/a', {});
  await store.create('/registry/x/ns/b', {});
  await ok.waitFor(2);
  t.is(closed?.message, 'boom');
});

test('memory: progressRevision trails queued events and catches up to writes elsewhere once drained', async (t) => {
  const store = new MemoryBackend();
  const got = new Collector();
  const watch = await store.watch('/registry/a/', 0, got.handlers);
  const a = await store.create('/registry/a/ns/x', {});
  t.is(watch.progressRevision(), 0, 'the event is queued, not delivered');
  await got.waitFor(1);
  t.is(watch.progressRevision(), a.revision);
  const other = await store.create('/registry/b/ns/y', {});
  t.is(watch.progressRevision(), other.revision, 'nothing queued: caught up to the store');
});
