import test from 'ava';
import type { Node } from 'kubernetes-types/core/v1.js';
import { desiredTaints, isStale, taintsEqual, unknownConditions, TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE } from '../../../src/apiserver-stub/controllers/node-lifecycle-reconcile.ts';

const node = (ready: string | undefined, o: { beat?: string; unschedulable?: boolean; taints?: NonNullable<Node['spec']>['taints'] } = {}): Node => ({
  metadata: { name: 'n' },
  spec: { ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
  status: { conditions: ready ? [{ type: 'Ready', status: ready, ...(o.beat ? { lastHeartbeatTime: o.beat } : {}) }] : [] },
});
const keys = (n: Node) => desiredTaints(n).map((t) => `${t.key}:${t.effect}`);

const cases: Array<{ name: string; n: Node; want: string[] }> = [
  { name: 'ready node: no taints', n: node('True'), want: [] },
  { name: 'not ready', n: node('False'), want: [`${TAINT_NOT_READY}:NoSchedule`] },
  { name: 'unknown', n: node('Unknown'), want: [`${TAINT_UNREACHABLE}:NoSchedule`] },
  { name: 'cordoned', n: node('True', { unschedulable: true }), want: [`${TAINT_UNSCHEDULABLE}:NoSchedule`] },
  { name: 'ready again drops ours, keeps others', n: node('True', { taints: [{ key: TAINT_NOT_READY, effect: 'NoSchedule' }, { key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }), want: ['dedicated:NoSchedule'] },
];
for (const tc of cases) test(`taints: ${tc.name}`, (t) => t.deepEqual(keys(tc.n), tc.want));

test('staleness needs a heartbeat older than the grace period; plain nodes are never stale', (t) => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  t.true(isStale(node('True', { beat: '2026-01-01T00:00:00Z' }), now, 40_000));
  t.false(isStale(node('True', { beat: '2026-01-01T00:00:30Z' }), now, 40_000));
  t.false(isStale(node('True'), now, 40_000));
  const c = unknownConditions(node('True', { beat: '2026-01-01T00:00:00Z' }), new Date(now));
  t.like(c[0], { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' });
  t.true(taintsEqual([{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }], [{ key: 'b', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }]));
});
