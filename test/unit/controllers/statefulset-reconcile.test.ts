import test from 'ava';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { LABEL_POD_INDEX, LABEL_POD_NAME, LABEL_REVISION_HASH, planStatefulSet, podForOrdinal, revisionFor, revisionName } from '../../../src/apiserver-stub/controllers/statefulset-reconcile.ts';
import { pod } from './fixtures.ts';

const now = Date.parse('2026-01-01T01:00:00Z');

function sts(replicas: number, o: { policy?: 'OrderedReady' | 'Parallel'; image?: string; partition?: number; status?: StatefulSet['status'] } = {}): StatefulSet {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-sts', generation: 4 },
    spec: {
      replicas, serviceName: 'nginx', selector: { matchLabels: { app: 'web' } },
      ...(o.policy ? { podManagementPolicy: o.policy } : {}),
      ...(o.partition !== undefined ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: o.partition } } } : {}),
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: o.image ?? 'nginx:1' }] } },
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** member is web-<i> at a revision, Running and Ready unless told. */
function member(i: number, revision: string, o: { ready?: boolean; phase?: string; deleting?: boolean } = {}): Pod {
  return pod(`web-${i}`, { labels: { app: 'web', [LABEL_REVISION_HASH]: revision }, ...(o.ready === false ? { ready: false } : {}), ...(o.phase ? { phase: o.phase } : {}), ...(o.deleting ? { deleting: true } : {}) });
}

const names = (ps: readonly Pod[]) => ps.map((p) => p.metadata?.name);

test('OrderedReady creates web-0 first, then each next one only after the previous is Running and Ready', (t) => {
  const s = sts(3);
  const rev = revisionName(s);
  t.deepEqual(planStatefulSet(s, [], now).create, [0]);
  t.deepEqual(planStatefulSet(s, [member(0, rev, { ready: false })], now).create, [], 'web-0 not ready: wait');
  t.deepEqual(planStatefulSet(s, [member(0, rev, { phase: 'Pending', ready: false })], now).create, []);
  t.deepEqual(planStatefulSet(s, [member(0, rev)], now).create, [1]);
  t.deepEqual(planStatefulSet(s, [member(0, rev), member(1, rev)], now).create, [2]);
});

test('Parallel creates every missing pod at once and deletes every condemned one at once', (t) => {
  const s = sts(3, { policy: 'Parallel' });
  const rev = revisionName(s);
  t.deepEqual(planStatefulSet(s, [member(1, rev, { ready: false })], now).create, [0, 2]);
  const down = planStatefulSet(sts(1, { policy: 'Parallel' }), [member(0, rev), member(1, rev), member(2, rev)], now);
  t.deepEqual(names(down.delete), ['web-2', 'web-1']);
});

test('OrderedReady scale down removes the highest ordinal first, one at a time, waiting for it to go', (t) => {
  const s = sts(1);
  const rev = revisionName(s);
  t.deepEqual(names(planStatefulSet(s, [member(0, rev), member(1, rev), member(2, rev)], now).delete), ['web-2']);
  t.deepEqual(names(planStatefulSet(s, [member(0, rev), member(1, rev), member(2, rev, { deleting: true })], now).delete), [], 'web-2 still terminating');
  t.deepEqual(names(planStatefulSet(s, [member(0, rev), member(1, rev)], now).delete), ['web-1']);
  t.deepEqual(names(planStatefulSet(s, [member(0, rev, { ready: false }), member(1, rev)], now).delete), [], 'an unhealthy lower pod halts the scale-down');
});

test('a failed pod is deleted so it is recreated under the same name', (t) => {
  const s = sts(2);
  const rev = revisionName(s);
  const plan = planStatefulSet(s, [member(0, rev), member(1, rev, { phase: 'Failed', ready: false })], now);
  t.deepEqual(names(plan.delete), ['web-1']);
  t.deepEqual(planStatefulSet(s, [member(0, rev)], now).create, [1]);
});

test('RollingUpdate replaces from the highest ordinal down to the partition, one at a time, each waited for', (t) => {
  const old = revisionName(sts(3));
  const s = sts(3, { image: 'nginx:2', partition: 1, status: { replicas: 3, currentRevision: old } });
  const rev = revisionName(s);
  t.not(rev, old);
  t.deepEqual(names(planStatefulSet(s, [member(0, old), member(1, old), member(2, old)], now).delete), ['web-2']);
  t.deepEqual(planStatefulSet(s, [member(0, old), member(1, old)], now).create, [2], 'recreated');
  t.deepEqual(names(planStatefulSet(s, [member(0, old), member(1, old), member(2, rev, { ready: false })], now).delete), [], 'web-2 not ready yet');
  const next = planStatefulSet(s, [member(0, old), member(1, old), member(2, rev)], now);
  t.deepEqual(names(next.delete), ['web-1']);
  const done = planStatefulSet(s, [member(0, old), member(1, rev), member(2, rev)], now);
  t.deepEqual(done.delete, [], 'web-0 is below the partition');
  t.like(done.status, { replicas: 3, readyReplicas: 3, updatedReplicas: 2, currentReplicas: 1, currentRevision: old, updateRevision: rev, observedGeneration: 4 });
});

test('currentRevision becomes the update revision once every pod runs it', (t) => {
  const old = revisionName(sts(2));
  const s = sts(2, { image: 'nginx:2', status: { replicas: 2, currentRevision: old } });
  const rev = revisionName(s);
  const plan = planStatefulSet(s, [member(0, rev), member(1, rev)], now);
  t.like(plan.status, { currentRevision: rev, updateRevision: rev, currentReplicas: 2, updatedReplicas: 2 });
  t.is(planStatefulSet(sts(2), [], now).status.currentRevision, old, 'a new set starts at its update revision');
});

test('pods are <set>-<ordinal> with hostname, subdomain, the revision and index labels, and a controller reference', (t) => {
  const p = podForOrdinal(sts(3), 2, 'web-abc');
  t.is(p.metadata?.name, 'web-2');
  t.is(p.spec?.hostname, 'web-2');
  t.is(p.spec?.subdomain, 'nginx');
  t.like(p.metadata?.labels, { app: 'web', [LABEL_REVISION_HASH]: 'web-abc', [LABEL_POD_NAME]: 'web-2', [LABEL_POD_INDEX]: '2' });
  t.like(p.metadata?.ownerReferences?.[0], { kind: 'StatefulSet', name: 'web', uid: 'uid-sts', controller: true });
});

test('a pod below the partition recreated during an update keeps the current revision, copied from a live pod of it', (t) => {
  const old = revisionName(sts(3));
  const s = sts(3, { image: 'nginx:2', partition: 2, status: { replicas: 3, currentRevision: old } });
  const rev = revisionName(s);
  const oldPod = (i: number) => {
    const p = member(i, old);
    return { ...p, spec: { ...p.spec!, containers: [{ name: 'nginx', image: 'nginx:1' }], hostname: `web-${i}`, subdomain: 'nginx', nodeName: 'node-a' } };
  };
  const plan = planStatefulSet(s, [oldPod(1), member(2, rev)], now);
  t.deepEqual(plan.create, [0]);
  const { revision, source } = revisionFor(s, plan, 0);
  t.is(revision, old);
  const p = podForOrdinal(s, 0, revision, source);
  t.is(p.spec?.containers[0]?.image, 'nginx:1');
  t.is(p.spec?.hostname, 'web-0');
  t.is(p.spec?.nodeName, undefined, 'the copy is not bound to the source pod\'s node');
  t.like(p.metadata?.labels, { app: 'web', [LABEL_REVISION_HASH]: old, [LABEL_POD_NAME]: 'web-0', [LABEL_POD_INDEX]: '0' });
  t.is(revisionFor(s, plan, 2).revision, rev, 'at or above the partition: the update revision');
  t.is(revisionFor(s, planStatefulSet(s, [member(2, rev)], now), 0).revision, rev, 'no copy of the current revision left: the update revision');
});

test('minReadySeconds: OrderedReady waits until the previous pod has been ready that long', (t) => {
  const s = { ...sts(2), spec: { ...sts(2).spec!, minReadySeconds: 30 } };
  const rev = revisionName(s);
  // The fixture's pods became Ready at 00:00:10.
  t.deepEqual(planStatefulSet(s, [member(0, rev)], Date.parse('2026-01-01T00:00:20Z')).create, [], 'ready 10 s: wait');
  t.deepEqual(planStatefulSet(s, [member(0, rev)], Date.parse('2026-01-01T00:00:41Z')).create, [1], 'ready 31 s: next');
  t.like(planStatefulSet(s, [member(0, rev)], Date.parse('2026-01-01T00:00:20Z')).status, { readyReplicas: 1, availableReplicas: 0 });
});
