import test from 'ava';
import { Broadcaster } from '../../../../src/apiserver-stub/storage/broadcaster.ts';
import type { StoreEvent } from '../../../../src/apiserver-stub/storage/backend.ts';
import { Collector } from './conformance.ts';

const event = (key: string, revision: number): StoreEvent => ({ type: 'ADDED', key, value: {}, revision });

test('broadcaster: 100 watchers each get every event under their prefix, in order, and nothing else', async (t) => {
  const b = new Broadcaster();
  const all = Array.from({ length: 100 }, (_, i) => {
    const c = new Collector();
    b.subscribe(i % 2 ? '/registry/services/' : '/registry/pods/', c.handlers, []);
    return { c, services: i % 2 === 1 };
  });
  b.publish(event('/registry/services/ns/a', 1));
  b.publish(event('/registry/pods/ns/p', 2));
  b.publish(event('/registry/services/ns/b', 3));
  b.publish(event('/registry/nodes/n', 4));
  await Promise.all(all.map(({ c, services }) => c.waitFor(services ? 2 : 1)));
  await new Promise((r) => setTimeout(r, 10));
  for (const { c, services } of all) t.deepEqual(c.events.map((e) => e.revision), services ? [1, 3] : [2]);
});

test('broadcaster: the backlog comes first, delivery is never synchronous, close detaches', async (t) => {
  const b = new Broadcaster();
  const c = new Collector();
  const w = b.subscribe('/r/', c.handlers, [event('/r/a', 1), event('/r/b', 2)]);
  b.publish(event('/r/c', 3));
  t.is(c.events.length, 0, 'nothing delivered inside subscribe/publish');
  await c.waitFor(3);
  t.deepEqual(c.events.map((e) => e.revision), [1, 2, 3]);
  t.is(b.size, 1);
  w.close();
  w.close();
  t.is(b.size, 0);
  b.publish(event('/r/d', 4));
  await new Promise((r) => setTimeout(r, 10));
  t.is(c.events.length, 3);
  t.is(c.closedWith, undefined, 'onClose is not called for a requested close');
});
