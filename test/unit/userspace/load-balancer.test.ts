import test from 'ava';
import { RoundRobin } from '../../../src/userspace/load-balancer.ts';

const EPS = ['10.244.1.10:8080', '10.244.1.11:8080', '10.244.1.12:8080'];

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('round-robin visits every endpoint once per cycle, in a stable order', (t) => {
  const lb = new RoundRobin();
  lb.setEndpoints(EPS);
  const first = [0, 1, 2].map(() => lb.next('10.0.0.1'));
  t.deepEqual([...first].sort(), EPS);
  t.deepEqual([0, 1, 2].map(() => lb.next('10.0.0.1')), first);
  // The same set again (any order) keeps position and order.
  lb.setEndpoints([...EPS].reverse());
  t.deepEqual([0, 1, 2].map(() => lb.next('10.0.0.1')), first);
});

test('no endpoints: next is undefined', (t) => {
  const lb = new RoundRobin();
  t.is(lb.next('10.0.0.1'), undefined);
  lb.setEndpoints(EPS);
  lb.setEndpoints([]);
  t.is(lb.next('10.0.0.1'), undefined);
});

test('a removed endpoint gets no new picks', (t) => {
  const lb = new RoundRobin();
  lb.setEndpoints(EPS);
  lb.setEndpoints([EPS[0]!, EPS[2]!]);
  const picks = new Set(Array.from({ length: 10 }, () => lb.next('10.0.0.1')));
  t.deepEqual([...picks].sort(), [EPS[0], EPS[2]]);
});

const affinityCases: Array<{ name: string; run(lb: RoundRobin, c: ReturnType<typeof clock>): void; pinned: boolean }> = [
  { name: 'within the timeout', run: (_lb, c) => c.advance(59_000), pinned: true },
  { name: 'after the timeout', run: (_lb, c) => c.advance(60_000), pinned: false },
  { name: 'when affinity is turned off', run: (lb) => lb.setAffinity(0), pinned: false },
];
for (const tc of affinityCases) {
  test(`ClientIP affinity ${tc.name}: ${tc.pinned ? 'stays' : 'released'}`, (t) => {
    const c = clock();
    const lb = new RoundRobin(c.now);
    lb.setEndpoints(EPS);
    lb.setAffinity(60_000);
    const pinned = lb.next('10.0.0.1');
    t.is(lb.next('10.0.0.1'), pinned);
    tc.run(lb, c);
    // Two picks: a released client gets round-robin, which must leave the pinned endpoint at least once.
    const picks = [lb.next('10.0.0.1'), lb.next('10.0.0.2'), lb.next('10.0.0.1')];
    if (tc.pinned) t.is(picks[0], pinned);
    else t.true(picks.some((p) => p !== pinned));
  });
}

test('affinity reset on retry moves the client and pins it to the new endpoint', (t) => {
  const lb = new RoundRobin();
  lb.setEndpoints(EPS);
  lb.setAffinity(60_000);
  const dead = lb.next('10.0.0.1');
  const moved = lb.next('10.0.0.1', true);
  t.not(moved, dead);
  t.is(lb.next('10.0.0.1'), moved);
});

test('clients pinned to a removed endpoint are re-balanced', (t) => {
  const lb = new RoundRobin();
  lb.setEndpoints(EPS);
  lb.setAffinity(60_000);
  const pinned = lb.next('10.0.0.1')!;
  lb.setEndpoints(EPS.filter((e) => e !== pinned));
  t.not(lb.next('10.0.0.1'), pinned);
});

test('expireAffinity forgets idle clients', (t) => {
  const c = clock();
  const lb = new RoundRobin(c.now);
  lb.setEndpoints(EPS);
  lb.setAffinity(1000);
  const pinned = lb.next('10.0.0.1');
  c.advance(1000);
  lb.expireAffinity();
  c.advance(-1000);
  // Had the entry survived, the rewound clock would make it fresh again.
  t.true([lb.next('10.0.0.1'), lb.next('10.0.0.1'), lb.next('10.0.0.1')].some((p) => p !== pinned));
});
