import test from 'ava';
import { WorkQueue } from '../../../src/apiserver-stub/controllers/workqueue.ts';
import { WriteTracker } from '../../../src/apiserver-stub/controllers/write-tracker.ts';

test('a key is queued once however often it is added', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  t.is(q.length, 2);
  t.is(await q.get(), 'a');
  t.is(await q.get(), 'b');
});

test('a key added while processed is handed out again only after done', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  q.add('a');
  t.is(q.length, 0, 'not given to a second worker');
  q.done(k!);
  t.is(q.length, 1);
  t.is(await q.get(), 'a');
  q.done('a');
  t.true(q.idle);
});

test('a waiting worker gets the next key; shutDown releases waiters', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  t.is(await waiting, 'x');
  const w2 = q.get();
  q.shutDown();
  t.is(await w2, undefined);
});

test('rate-limited keys come back after a growing delay; forget resets it', async (t) => {
  const q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 1000 });
  const start = Date.now();
  q.addRateLimited('k');
  t.false(q.idle);
  t.is(await q.get(), 'k');
  t.true(Date.now() - start >= 15);
  q.done('k');
  q.addRateLimited('k');
  const second = Date.now();
  await q.get();
  t.true(Date.now() - second >= 35, 'second failure waits about twice as long');
  q.forget('k');
  q.done('k');
  q.shutDown();
});

test('write tracker: stale until the cache shows our write or deletion', (t) => {
  const tr = new WriteTracker();
  tr.recordWrite('svc', 's1', '10');
  tr.recordDelete('svc', 's2');
  const cache = new Map<string, { resourceVersion: string; deleting: boolean }>([['s1', { resourceVersion: '9', deleting: false }], ['s2', { resourceVersion: '5', deleting: false }]]);
  t.true(tr.isStale('svc', (n) => cache.get(n)));
  cache.set('s1', { resourceVersion: '10', deleting: false });
  t.true(tr.isStale('svc', (n) => cache.get(n)), 's2 still there');
  cache.set('s2', { resourceVersion: '6', deleting: true });
  t.false(tr.isStale('svc', (n) => cache.get(n)), 'marked for deletion counts as gone');
  t.false(tr.isStale('other', () => undefined));
});
