import test from 'ava';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { DAEMON_TOLERATIONS, LABEL_REVISION_HASH, maxUnavailableOf, planDaemonSet, podForNode, shouldRunOn, templateHash } from '../../../src/apiserver-stub/controllers/daemonset-reconcile.ts';
import { pod } from './fixtures.ts';

const now = Date.parse('2026-01-01T01:00:00Z');

function ds(spec: Partial<NonNullable<NonNullable<DaemonSet['spec']>['template']['spec']>> = {}, strategy?: NonNullable<DaemonSet['spec']>['updateStrategy']): DaemonSet {
  return {
    metadata: { name: 'agent', namespace: 'default', uid: 'uid-ds', generation: 2 },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } }, ...(strategy ? { updateStrategy: strategy } : {}) },
  };
}

function node(name: string, o: { labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean } = {}): Node {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) } };
}

/** daemonPod is a running, ready daemon pod on a node with the given revision. */
function daemonPod(name: string, nodeName: string, hash: string, o: { ready?: boolean; created?: string } = {}): Pod {
  const p = pod(name, { node: nodeName, labels: { app: 'agent', [LABEL_REVISION_HASH]: hash }, ...(o.ready === false ? { ready: false } : {}), ...(o.created ? { created: o.created } : {}) });
  return p;
}

test('one pod per eligible node, bound to it with the daemon tolerations and node affinity', (t) => {
  const d = ds();
  const plan = planDaemonSet(d, [node('a'), node('b')], [], now);
  t.deepEqual(plan.create, ['a', 'b']);
  const p = podForNode(d, 'b', plan.hash);
  t.is(p.spec?.nodeName, 'b');
  t.deepEqual(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }]);
  for (const tol of DAEMON_TOLERATIONS) t.true(p.spec!.tolerations!.some((x) => x.key === tol.key && x.effect === tol.effect), tol.key);
  t.like(p.metadata, { generateName: 'agent-', labels: { app: 'agent', [LABEL_REVISION_HASH]: plan.hash } });
  t.like(p.metadata?.ownerReferences?.[0], { kind: 'DaemonSet', name: 'agent', uid: 'uid-ds', controller: true });
  t.like(plan.status, { desiredNumberScheduled: 2, currentNumberScheduled: 0, numberReady: 0, observedGeneration: 2 });
});

test('nodeSelector, required node affinity and taints decide eligibility; daemon tolerations cover pressure, not-ready and unschedulable', (t) => {
  t.false(shouldRunOn(ds({ nodeSelector: { disk: 'ssd' } }), node('a')));
  t.true(shouldRunOn(ds({ nodeSelector: { disk: 'ssd' } }), node('a', { labels: { disk: 'ssd' } })));
  const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }] }, { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }] } } };
  t.true(shouldRunOn(ds({ affinity }), node('a', { labels: { zone: 'z2' } })));
  t.true(shouldRunOn(ds({ affinity }), node('a', { labels: { gpu: 'yes' } })));
  t.false(shouldRunOn(ds({ affinity }), node('a', { labels: { zone: 'z3' } })));
  const master = { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const }] };
  t.false(shouldRunOn(ds(), node('cp', master)));
  t.true(shouldRunOn(ds({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }), node('cp', master)));
  t.true(shouldRunOn(ds(), node('a', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })), 'PreferNoSchedule does not keep a daemon away');
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) t.true(shouldRunOn(ds(), node('a', { taints: [{ key, effect: 'NoExecute' }] })), key);
  for (const key of ['node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure', 'node.kubernetes.io/unschedulable']) t.true(shouldRunOn(ds(), node('a', { taints: [{ key, effect: 'NoSchedule' }] })), key);
  t.true(shouldRunOn(ds(), node('a', { unschedulable: true })));
  t.false(shouldRunOn(ds(), node('a', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] })));
});

test('pods on ineligible or vanished nodes, extra pods and failed pods are deleted; a node with a pod gets none', (t) => {
  const d = ds({ nodeSelector: { role: 'worker' } });
  const h = templateHash(d);
  const pods = [
    daemonPod('on-a', 'a', h, { created: '2026-01-01T00:00:01Z' }),
    daemonPod('dup-a', 'a', h, { created: '2026-01-01T00:00:05Z' }),
    daemonPod('on-b', 'b', h),
    daemonPod('on-gone', 'gone', h),
    { ...daemonPod('failed-c', 'c', h), status: { phase: 'Failed' } },
  ];
  const plan = planDaemonSet(d, [node('a', { labels: { role: 'worker' } }), node('b'), node('c', { labels: { role: 'worker' } })], pods, now);
  t.deepEqual(plan.create, ['c']);
  t.deepEqual(plan.delete.map((p) => p.metadata?.name).sort(), ['dup-a', 'failed-c', 'on-b', 'on-gone']);
  t.like(plan.status, { desiredNumberScheduled: 2, currentNumberScheduled: 1, numberMisscheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1, numberUnavailable: 1 });
});

test('rolling update: old available pods are replaced at most maxUnavailable at a time; unavailable old ones at once', (t) => {
  const d = ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));
  const old = ['a', 'b', 'c', 'd'].map((n) => daemonPod(`old-${n}`, n, 'oldhash', { created: `2026-01-01T00:00:0${'abcd'.indexOf(n)}Z` }));
  const first = planDaemonSet(d, nodes, old, now);
  t.deepEqual(first.delete.map((p) => p.metadata?.name), ['old-a'], 'one at a time, oldest first');
  t.is(first.status.updatedNumberScheduled, 0);
  // a's replacement is there but not ready yet: nothing more goes.
  const fresh = daemonPod('new-a', 'a', first.hash, { ready: false });
  t.deepEqual(planDaemonSet(d, nodes, [fresh, ...old.slice(1)], now).delete, []);
  // Once ready, the next one goes; an unready old pod goes whatever the budget.
  const ready = daemonPod('new-a', 'a', first.hash);
  const unreadyOld = daemonPod('old-d', 'd', 'oldhash', { ready: false });
  const next = planDaemonSet(d, nodes, [ready, old[1]!, old[2]!, unreadyOld], now);
  t.deepEqual(next.delete.map((p) => p.metadata?.name), ['old-d']);
  t.like(next.status, { updatedNumberScheduled: 1, numberReady: 3 });
  t.deepEqual(planDaemonSet(ds({}, { type: 'OnDelete' }), nodes, old, now).delete, [], 'OnDelete leaves old pods');
});

test('maxUnavailable as a percentage rounds up, and is at least 1', (t) => {
  const pct = (v: string) => ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: v } });
  t.is(maxUnavailableOf(pct('25%'), 10), 3);
  t.is(maxUnavailableOf(pct('0%'), 10), 1);
  t.is(maxUnavailableOf(ds(), 10), 1);
});

test('the template hash changes with the template and not with metadata outside it', (t) => {
  const a = ds();
  const b = { ...ds(), metadata: { ...ds().metadata, generation: 7 } };
  t.is(templateHash(a), templateHash(b));
  t.not(templateHash(a), templateHash(ds({ containers: [{ name: 'c', image: 'busybox:2' }] })));
});
