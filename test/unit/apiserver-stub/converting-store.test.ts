import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../../../src/kube/types.ts';
import { ConvertingStore, type Convert } from '../../../src/apiserver-stub/crd/converting-store.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import type { StoreEvent } from '../../../src/apiserver-stub/storage/backend.ts';

/** A stand-in webhook: v1 `size` ⇄ v2 `amount`, taking longer for earlier objects. */
const fakeWebhook = (calls: string[]): Convert => async (objects, apiVersion) => {
  calls.push(`${apiVersion}:${objects.length}`);
  const n = Number((objects[0]?.metadata?.name ?? 'x0').slice(1));
  await sleep(Math.max(0, 30 - n * 5));
  return objects.map((o) => {
    const spec = o.spec as Record<string, unknown>;
    const value = spec.size ?? spec.amount;
    return { ...o, apiVersion, spec: apiVersion.endsWith('/v2') ? { amount: value } : { size: value } } as KubeObject;
  });
};

const obj = (version: string, name: string, spec: object) => ({ apiVersion: `g.example.com/${version}`, kind: 'W', metadata: { name }, spec });

test('ConvertingStore: writes are stored in the storage version, reads come back in the served one, and a list is one conversion', async (t) => {
  const backend = createBackend('memory');
  await backend.start();
  t.teardown(() => backend.close());
  const calls: string[] = [];
  const v2 = new ConvertingStore(backend, fakeWebhook(calls), 'g.example.com/v2', 'g.example.com/v1');
  const created = await v2.create('/registry/g.example.com/ws/a1', obj('v2', 'a1', { amount: 3 }));
  t.like(created.value, { apiVersion: 'g.example.com/v2', spec: { amount: 3 } });
  t.like((await backend.get('/registry/g.example.com/ws/a1'))!.value, { apiVersion: 'g.example.com/v1', spec: { size: 3 } });
  await backend.create('/registry/g.example.com/ws/a2', obj('v2', 'a2', { amount: 4 }));
  calls.length = 0;
  const list = await v2.list('/registry/g.example.com/ws/');
  t.deepEqual(list.items.map((kv) => kv.value.spec), [{ amount: 3 }, { amount: 4 }]);
  t.deepEqual(calls, ['g.example.com/v2:2'], 'one review for the page (kube sends only objects not already in the version, here all)');
  const v1 = new ConvertingStore(backend, fakeWebhook(calls), 'g.example.com/v1', 'g.example.com/v1');
  calls.length = 0;
  t.like((await v1.get('/registry/g.example.com/ws/a1'))!.value, { spec: { size: 3 } });
  t.deepEqual(calls, [], 'an object already in the served version is not sent');
});

test('ConvertingStore: a watch delivers converted events in revision order (earlier ones convert slower); a failure ends it', async (t) => {
  const backend = createBackend('memory');
  await backend.start();
  t.teardown(() => backend.close());
  let fail = false;
  const convert: Convert = async (objects, apiVersion) => {
    if (fail) throw new Error('webhook down');
    return fakeWebhook([])(objects, apiVersion);
  };
  const v2 = new ConvertingStore(backend, convert, 'g.example.com/v2', 'g.example.com/v1');
  const events: StoreEvent[] = [];
  let closedWith: Error | undefined;
  const watch = await v2.watch('/registry/g.example.com/ws/', backend.currentRevision(), { onEvent: (e) => void events.push(e), onClose: (e) => (closedWith = e) });
  for (let i = 1; i <= 5; i++) await backend.create(`/registry/g.example.com/ws/x${i}`, obj('v1', `x${i}`, { size: i }));
  await sleep(200);
  t.deepEqual(events.map((e) => [e.value.metadata, e.value.spec]), [1, 2, 3, 4, 5].map((i) => [{ name: `x${i}` }, { amount: i }]));
  t.deepEqual(events.map((e) => e.revision), [...events.map((e) => e.revision)].sort((a, b) => a - b));
  t.is(watch.progressRevision(), events.at(-1)!.revision);
  fail = true;
  await backend.create('/registry/g.example.com/ws/x6', obj('v1', 'x6', { size: 6 }));
  await sleep(50);
  t.is(closedWith?.message, 'webhook down');
  t.is(events.length, 5, 'the event that could not be converted is not sent');
  watch.close();
});
