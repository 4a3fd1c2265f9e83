import test from 'ava';
import type { KeyValue } from '../../../../src/apiserver-stub/storage/backend.ts';
import { MemoryBackend } from '../../../../src/apiserver-stub/storage/memory.ts';

// Random writes against the memory store, checked against a naive model that
// keeps a full copy of the state at every revision: lists at the current and
// at past revisions, with random prefixes, startAfter and limits, must agree.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const KEYS = ['/r/a/1', '/r/a/2', '/r/a/10', '/r/ab/1', '/r/b/1', '/r/b/2', '/r/b/3', '/r/c'];
const PREFIXES = ['/r/', '/r/a/', '/r/a', '/r/b/', '/r/c', '/r/z/'];

function naiveList(state: Map<string, KeyValue>, prefix: string, startAfter: string | undefined, limit: number): { keys: string[]; more: boolean } {
  const keys = [...state.keys()].filter((k) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter)).sort();
  const page = limit > 0 ? keys.slice(0, limit) : keys;
  return { keys: page, more: page.length < keys.length };
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`state model: random writes, lists at past revisions agree with a naive model (seed ${seed})`, async (t) => {
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const store = new MemoryBackend({ history: { maxEvents: 150 } });
    const model = new Map<string, KeyValue>();
    const states = new Map<number, Map<string, KeyValue>>([[0, new Map()]]);
    for (let step = 0; step < 400; step++) {
      const key = pick(KEYS);
      const current = model.get(key);
      let kv: KeyValue;
      if (!current) {
        kv = await store.create(key, { step });
        model.set(key, kv);
      } else if (random() < 0.5) {
        kv = await store.delete(key);
        t.deepEqual(kv.value, current.value, 'delete returns the last value');
        model.delete(key);
      } else {
        kv = await store.update(key, { step }, current.revision);
        model.set(key, kv);
      }
      states.set(kv.revision, new Map(model));
    }
    let checked = 0;
    for (let q = 0; q < 300; q++) {
      const revision = store.currentRevision() - Math.floor(random() * 149);
      const prefix = pick(PREFIXES);
      const startAfter = random() < 0.5 ? pick(KEYS) : undefined;
      const limit = pick([0, 1, 2, 3]);
      const got = await store.list(prefix, { revision, startAfter, limit });
      const want = naiveList(states.get(revision)!, prefix, startAfter, limit);
      t.deepEqual({ keys: got.items.map((i) => i.key), more: got.more }, want, `rev ${revision} prefix ${prefix} after ${startAfter} limit ${limit}`);
      for (const item of got.items) t.deepEqual(item, states.get(revision)!.get(item.key));
      checked++;
    }
    t.is(checked, 300);
  });
}
