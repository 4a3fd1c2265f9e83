import test from 'ava';
import { SnapshotMap } from '../../../src/endpoints/snapshot-map.ts';

test('snapshots stay unchanged while the map changes, and agree with a plain Map', (t) => {
  const map = new SnapshotMap<number>();
  const model = new Map<string, number>();
  const taken: Array<[ReadonlyMap<string, number>, string]> = [];
  const render = (m: ReadonlyMap<string, number>) => JSON.stringify([...m.entries()].sort());
  for (let i = 0; i < 5000; i++) {
    const key = `k${Math.floor(Math.random() * 300)}`;
    if (Math.random() < 0.3) {
      map.delete(key);
      model.delete(key);
    } else {
      map.set(key, i);
      model.set(key, i);
    }
    if (i % 37 === 0) {
      const snap = map.snapshot();
      t.is(snap.size, model.size);
      t.is(render(snap), render(model));
      taken.push([snap, render(model)]);
    }
  }
  for (const [snap, rendered] of taken) t.is(render(snap), rendered, 'an old snapshot did not change');
  const snap = map.snapshot();
  t.is(map.snapshot(), snap, 'unchanged map reuses its snapshot');
  for (const [k, v] of model) t.is(snap.get(k), v);
  t.false(snap.has('absent'));
  t.deepEqual([...snap.keys()].sort(), [...model.keys()].sort());
});
