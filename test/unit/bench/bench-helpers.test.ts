import test from 'ava';
import { Teardowns } from '../../../scripts/bench/lab-helpers.ts';
import { benchCluster, oneEndpointChanged, snapshot } from '../../../scripts/bench/synthetic.ts';

test('Teardowns runs cleanups in reverse, each once, past a failing one, and only those after a mark', async (t) => {
  const ran: string[] = [];
  const td = new Teardowns();
  td.add(() => ran.push('lab'));
  const mark = td.mark();
  td.add(() => ran.push('namespace'));
  td.add(() => {
    throw new Error('process already gone');
  });
  td.add(async () => ran.push('process'));
  const stderr = process.stderr.write;
  process.stderr.write = () => true;
  try {
    await td.runFrom(mark);
  } finally {
    process.stderr.write = stderr;
  }
  t.deepEqual(ran, ['process', 'namespace']);
  td.context.teardown(() => ran.push('from context'));
  await td.runFrom();
  await td.runFrom();
  t.deepEqual(ran, ['process', 'namespace', 'from context', 'lab']);
});

test('oneEndpointChanged replaces exactly one endpoint of a service', (t) => {
  const cluster = benchCluster(3, 10);
  const [key, before] = [...cluster.endpoints][1]!;
  const after = oneEndpointChanged(before, 7);
  const ids = (eps: typeof before) => new Set(eps.map((e) => `${e.ip}:${e.port}`));
  const gone = [...ids(before)].filter((id) => !ids(after).has(id));
  const added = [...ids(after)].filter((id) => !ids(before).has(id));
  t.is(after.length, 10);
  t.is(gone.length, 1);
  t.is(added.length, 1);
  cluster.endpoints.set(key, after);
  const state = snapshot(cluster, [key]);
  t.deepEqual([...state.changed], [key]);
  t.is(state.services.size, 3);
  t.not(state.endpoints, cluster.endpoints, 'the snapshot is a copy the bench can keep changing');
});
