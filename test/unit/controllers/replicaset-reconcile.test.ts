import test from 'ava';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { compareForDeletion, planReplicaSet, podFromTemplate } from '../../../src/apiserver-stub/controllers/replicaset-reconcile.ts';
import { pod } from './fixtures.ts';

const rs = (replicas: number): ReplicaSet => ({
  metadata: { name: 'web-abc', namespace: 'default', uid: 'uid-rs', generation: 3 },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'ferry/agnhost' }] } } },
});
const now = Date.parse('2026-01-01T01:00:00Z');

test('scale up creates the missing pods; terminal and deleting pods do not count', (t) => {
  const plan = planReplicaSet(rs(4), [pod('p1'), pod('p2', { phase: 'Failed' }), pod('p3', { deleting: true })], now);
  t.is(plan.create, 3);
  t.deepEqual(plan.delete, []);
  t.like(plan.status, { replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 3 });
});

test('scale down deletes newest first among equals', (t) => {
  const pods = [pod('p1', { created: '2026-01-01T00:00:01Z' }), pod('p2', { created: '2026-01-01T00:00:03Z' }), pod('p3', { created: '2026-01-01T00:00:02Z' })];
  const plan = planReplicaSet(rs(1), pods, now);
  t.deepEqual(plan.delete.map((p) => p.metadata?.name), ['p2', 'p3']);
});

const rankCases: Array<{ name: string; first: ReturnType<typeof pod>; second: ReturnType<typeof pod> }> = [
  { name: 'unscheduled before scheduled', first: pod('a', { node: '' }), second: pod('b') },
  { name: 'pending before running', first: pod('a', { phase: 'Pending' }), second: pod('b') },
  { name: 'not ready before ready', first: pod('a', { ready: false }), second: pod('b') },
  { name: 'more restarts first', first: pod('a', { restarts: 3 }), second: pod('b') },
  { name: 'newer first', first: pod('a', { created: '2026-01-02T00:00:00Z' }), second: pod('b') },
];
for (const tc of rankCases) {
  test(`deletion rank: ${tc.name}`, (t) => {
    t.true(compareForDeletion(tc.first, tc.second) < 0);
    t.true(compareForDeletion(tc.second, tc.first) > 0);
  });
}

test('podFromTemplate: generateName, labels, controller reference', (t) => {
  const p = podFromTemplate(rs(1));
  t.is(p.metadata?.generateName, 'web-abc-');
  t.deepEqual(p.metadata?.labels, { app: 'web' });
  t.like(p.metadata?.ownerReferences?.[0], { kind: 'ReplicaSet', name: 'web-abc', uid: 'uid-rs', controller: true });
  t.is(p.spec?.containers[0]?.image, 'ferry/agnhost');
});
