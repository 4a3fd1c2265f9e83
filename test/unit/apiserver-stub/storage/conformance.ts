import test, { type ExecutionContext } from 'ava';
import type { Backend, StoreEvent } from '../../../../src/apiserver-stub/storage/backend.ts';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  StoreClosedError,
} from '../../../../src/apiserver-stub/storage/errors.ts';

/**
 * The Backend conformance suite: every storage driver runs these same cases.
 * Each case gets a started backend and its own key root, and asserts only
 * revisions relative to ones the store returned, so drivers with a shared
 * revision space (etcd) pass too.
 */
export interface ConformanceTarget {
  /** Label for test titles, e.g. "memory". */
  name: string;
  /** Opens a started backend for one case; the suite closes it. */
  open(t: ExecutionContext): Promise<Backend>;
  /** Run cases one at a time (drivers sharing one server, where compaction is global). */
  serial?: boolean;
  /** Skip every case with this message (e.g. a missing binary). */
  skip?: string;
}

/** Collector gathers a watch's events and lets a case wait for a count. */
export class Collector {
  readonly events: StoreEvent[] = [];
  closedWith: Error | undefined;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  readonly handlers = {
    onEvent: (event: StoreEvent) => {
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => (this.events.length >= w.n ? (w.resolve(), false) : true));
    },
    onClose: (reason: Error) => {
      this.closedWith = reason;
    },
  };

  /** waitFor resolves once `n` events arrived; rejects after `ms`. */
  waitFor(n: number, ms = 5000): Promise<void> {
    if (this.events.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${this.events.length} of ${n} events`)), ms);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));
const summary = (events: readonly StoreEvent[]) => events.map((e) => `${e.type} ${e.key.split('/').pop()}`);

let roots = 0;
type Case = (t: ExecutionContext, store: Backend, root: string) => Promise<void>;

const cases: Array<{ name: string; run: Case }> = [
  {
    name: 'create, get, update, delete round trip with increasing revisions',
    run: async (t, store, root) => {
      const key = `${root}/default/a`;
      const created = await store.create(key, { spec: { n: 1 } });
      t.deepEqual(created.value, { spec: { n: 1 } });
      t.is(store.currentRevision() >= created.revision, true);
      t.deepEqual(await store.get(key), created);
      const updated = await store.update(key, { spec: { n: 2 } }, created.revision);
      t.true(updated.revision > created.revision);
      t.deepEqual((await store.get(key))?.value, { spec: { n: 2 } });
      const deleted = await store.delete(key, updated.revision);
      t.deepEqual(deleted.value, { spec: { n: 2 } });
      t.true(deleted.revision > updated.revision);
      t.is(await store.get(key), undefined);
      const again = await store.create(key, { spec: { n: 3 } });
      t.true(again.revision > deleted.revision);
    },
  },
  {
    name: 'typed errors for exists, missing and conflicting writes',
    run: async (t, store, root) => {
      const key = `${root}/default/a`;
      const created = await store.create(key, { v: 1 });
      const exists = await t.throwsAsync(store.create(key, { v: 2 }), { instanceOf: KeyExistsError });
      t.is(exists?.code, 'FERRY_ERR_STORE_KEY_EXISTS');
      await t.throwsAsync(store.update(`${root}/default/missing`, { v: 1 }, 1), { instanceOf: KeyNotFoundError });
      await t.throwsAsync(store.delete(`${root}/default/missing`), { instanceOf: KeyNotFoundError });
      const conflict = await t.throwsAsync(store.update(key, { v: 2 }, created.revision - 1), { instanceOf: ConflictError });
      t.is(conflict?.actualRevision, created.revision);
      await t.throwsAsync(store.delete(key, created.revision + 1000), { instanceOf: ConflictError });
      t.deepEqual((await store.get(key))?.value, { v: 1 }, 'failed writes change nothing');
      await store.delete(key);
    },
  },
  {
    name: 'prefix list in key order with limit and startAfter',
    run: async (t, store, root) => {
      const names = ['e', 'a', 'd', 'b', 'c'];
      for (const n of names) await store.create(`${root}/ns1/${n}`, { n });
      await store.create(`${root}/ns10/x`, { n: 'other namespace sharing a prefix' });
      await store.create(`${root}/ns0/y`, { n: 'before' });
      const all = await store.list(`${root}/ns1/`);
      t.deepEqual(all.items.map((i) => i.value.n), ['a', 'b', 'c', 'd', 'e']);
      t.false(all.more);
      t.true(all.revision >= Math.max(...all.items.map((i) => i.revision)));
      const pages: string[][] = [];
      let startAfter: string | undefined;
      for (;;) {
        const page = await store.list(`${root}/ns1/`, { limit: 2, startAfter, revision: all.revision });
        pages.push(page.items.map((i) => String(i.value.n)));
        if (!page.more) break;
        startAfter = page.items.at(-1)!.key;
      }
      t.deepEqual(pages, [['a', 'b'], ['c', 'd'], ['e']]);
      t.is((await store.list(`${root}/`)).items.length, 7);
      t.deepEqual((await store.list(`${root}/none/`)).items, []);
    },
  },
  {
    name: 'list at a past revision sees the state then',
    run: async (t, store, root) => {
      const a = await store.create(`${root}/ns/a`, { v: 'a1' });
      const b = await store.create(`${root}/ns/b`, { v: 'b1' });
      const c = await store.create(`${root}/ns/c`, { v: 'c1' });
      const pinned = c.revision;
      await store.update(b.key, { v: 'b2' }, b.revision);
      await store.delete(c.key);
      await store.create(`${root}/ns/aa`, { v: 'aa1' });
      await store.delete(a.key);
      await store.create(a.key, { v: 'a2' });
      const then = await store.list(`${root}/ns/`, { revision: pinned });
      t.is(then.revision, pinned);
      t.deepEqual(then.items.map((i) => i.value.v), ['a1', 'b1', 'c1']);
      t.deepEqual(then.items.map((i) => i.revision), [a.revision, b.revision, c.revision]);
      const page = await store.list(`${root}/ns/`, { revision: pinned, startAfter: a.key, limit: 1 });
      t.deepEqual(page.items.map((i) => i.value.v), ['b1']);
      t.true(page.more);
      const now = await store.list(`${root}/ns/`);
      t.deepEqual(now.items.map((i) => i.value.v), ['a2', 'aa1', 'b2']);
    },
  },
  {
    name: 'watch delivers changes under its prefix in revision order; MODIFIED carries the value it replaced, DELETED the last value',
    run: async (t, store, root) => {
      const from = store.currentRevision();
      const got = new Collector();
      const watch = await store.watch(`${root}/ns/`, from, got.handlers);
      const a = await store.create(`${root}/ns/a`, { v: 1 });
      await store.create(`${root}/other/x`, { v: 'not watched' });
      const a2 = await store.update(a.key, { v: 2 }, a.revision);
      await store.create(`${root}/ns/b`, { v: 1 });
      const del = await store.delete(a.key);
      await got.waitFor(4);
      await settle();
      watch.close();
      t.deepEqual(summary(got.events), ['ADDED a', 'MODIFIED a', 'ADDED b', 'DELETED a']);
      const revisions = got.events.map((e) => e.revision);
      t.deepEqual(revisions, [...revisions].sort((x, y) => x - y));
      t.is(got.events[1]!.revision, a2.revision);
      t.deepEqual(got.events[1]!.prevValue, { v: 1 });
      t.deepEqual(got.events[3]!.value, { v: 2 });
      t.is(got.events[3]!.revision, del.revision);
      t.is(got.closedWith, undefined);
    },
  },
  {
    name: 'watch resumes from a past revision',
    run: async (t, store, root) => {
      const a = await store.create(`${root}/ns/a`, { v: 1 });
      const b = await store.create(`${root}/ns/b`, { v: 1 });
      await store.update(a.key, { v: 2 }, a.revision);
      const got = new Collector();
      const watch = await store.watch(`${root}/ns/`, a.revision, got.handlers);
      t.is(watch.progressRevision(), a.revision, 'nothing delivered yet: progress is the start');
      const del = await store.delete(b.key);
      await got.waitFor(3);
      t.true(watch.progressRevision() >= del.revision, 'progress covers delivered events');
      t.true(watch.progressRevision() <= store.currentRevision());
      watch.close();
      t.deepEqual(summary(got.events), ['ADDED b', 'MODIFIED a', 'DELETED b']);
      t.is(got.events[0]!.revision, b.revision);
    },
  },
  {
    name: 'compaction makes older revisions CompactedError',
    run: async (t, store, root) => {
      const a = await store.create(`${root}/ns/a`, { v: 1 });
      const a2 = await store.update(a.key, { v: 2 }, a.revision);
      await store.update(a.key, { v: 3 }, a2.revision);
      await store.compact(a2.revision);
      const err = await t.throwsAsync(store.watch(`${root}/ns/`, a.revision, new Collector().handlers), { instanceOf: CompactedError });
      t.is(err?.requestedRevision, a.revision);
      t.is(err?.code, 'FERRY_ERR_STORE_COMPACTED');
      t.regex(err?.message ?? '', /^too old resource version: \d+ \(\d+\)$/);
      await t.throwsAsync(store.list(`${root}/ns/`, { revision: a.revision }), { instanceOf: CompactedError });
      const got = new Collector();
      const watch = await store.watch(`${root}/ns/`, a2.revision, got.handlers);
      await got.waitFor(1);
      watch.close();
      t.deepEqual(got.events.map((e) => e.value.v), [3]);
    },
  },
  {
    name: 'future revisions are FutureRevisionError',
    run: async (t, store, root) => {
      await store.create(`${root}/ns/a`, { v: 1 });
      const future = store.currentRevision() + 1000;
      await t.throwsAsync(store.list(`${root}/ns/`, { revision: future }), { instanceOf: FutureRevisionError });
      await t.throwsAsync(store.watch(`${root}/ns/`, future, new Collector().handlers), { instanceOf: FutureRevisionError });
    },
  },
  {
    name: 'close ends watches and later calls fail with StoreClosedError',
    run: async (t, store, root) => {
      const got = new Collector();
      await store.watch(`${root}/`, store.currentRevision(), got.handlers);
      await store.close();
      await store.close();
      t.true(got.closedWith instanceof StoreClosedError);
      await t.throwsAsync(store.create(`${root}/ns/a`, {}), { instanceOf: StoreClosedError });
      await t.throwsAsync(store.list(`${root}/`), { instanceOf: StoreClosedError });
    },
  },
];

/** runConformance registers the suite for one driver. */
export function runConformance(target: ConformanceTarget): void {
  for (const tc of cases) {
    const title = `${target.name}: ${tc.name}`;
    if (target.skip) {
      test.skip(`${title} (${target.skip})`, () => {});
      continue;
    }
    const register = target.serial ? test.serial : test;
    register(title, async (t) => {
      const store = await target.open(t);
      t.teardown(() => store.close());
      await tc.run(t, store, `/registry/t${process.pid}x${++roots}`);
    });
  }
}
