import test from 'ava';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { LABEL_POD_TEMPLATE_HASH, planDeployment, podTemplateHash, resolveFenceposts } from '../../../src/apiserver-stub/controllers/deployment-reconcile.ts';

const now = new Date('2026-01-01T01:00:00Z');

function deploy(replicas: number, image = 'v1', surge: number | string = '25%', unavailable: number | string = '25%'): Deployment {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-d', generation: 2 },
    spec: {
      replicas,
      // The apiserver defaults it; without a deadline kube sets no Progressing condition.
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } },
    },
  };
}

/** rsFor is the set the controller made for d's template, with `available` pods up. */
function rsFor(d: Deployment, replicas: number, available: number, created = '2026-01-01T00:00:00Z'): ReplicaSet {
  const hash = podTemplateHash(d.spec!.template);
  const template = structuredClone(d.spec!.template);
  template.metadata!.labels![LABEL_POD_TEMPLATE_HASH] = hash;
  return {
    metadata: { name: `web-${hash}`, namespace: 'default', creationTimestamp: created, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas, selector: { matchLabels: { app: 'web', [LABEL_POD_TEMPLATE_HASH]: hash } }, template },
    status: { replicas, readyReplicas: available, availableReplicas: available },
  };
}

test('pod template hash: stable, safe alphabet, changes with the template and collision count', (t) => {
  const a = podTemplateHash(deploy(1).spec!.template);
  t.is(a, podTemplateHash(deploy(1).spec!.template));
  t.regex(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  t.not(a, podTemplateHash(deploy(1, 'v2').spec!.template));
  t.not(a, podTemplateHash(deploy(1).spec!.template, 1));
});

const fencepostCases: Array<{ name: string; replicas: number; surge: number | string; unavailable: number | string; want: { maxSurge: number; maxUnavailable: number } }> = [
  { name: 'default 25% of 4', replicas: 4, surge: '25%', unavailable: '25%', want: { maxSurge: 1, maxUnavailable: 1 } },
  { name: 'surge rounds up, unavailable down', replicas: 3, surge: '25%', unavailable: '25%', want: { maxSurge: 1, maxUnavailable: 0 } },
  { name: 'both zero becomes unavailable 1', replicas: 3, surge: 0, unavailable: 0, want: { maxSurge: 0, maxUnavailable: 1 } },
  { name: 'integers as given', replicas: 10, surge: 3, unavailable: 2, want: { maxSurge: 3, maxUnavailable: 2 } },
];
for (const tc of fencepostCases) {
  test(`fenceposts: ${tc.name}`, (t) => t.deepEqual(resolveFenceposts(deploy(tc.replicas, 'v1', tc.surge, tc.unavailable)), tc.want));
}

test('first sync creates the ReplicaSet with all replicas', (t) => {
  const d = deploy(4);
  const plan = planDeployment(d, [], now);
  const rs = plan.createReplicaSet!;
  const hash = podTemplateHash(d.spec!.template);
  t.is(rs.metadata?.name, `web-${hash}`);
  t.is(rs.spec?.replicas, 4);
  t.is(rs.spec?.template?.metadata?.labels?.[LABEL_POD_TEMPLATE_HASH], hash);
  t.is(rs.spec?.selector.matchLabels?.[LABEL_POD_TEMPLATE_HASH], hash);
  t.is(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.like(rs.metadata?.ownerReferences?.[0], { kind: 'Deployment', uid: 'uid-d', controller: true });
});

test('scaling an up-to-date deployment rescales its ReplicaSet', (t) => {
  const d = deploy(6);
  const plan = planDeployment(d, [rsFor(deploy(4), 4, 4)], now);
  t.deepEqual(plan.scale.map((s) => s.replicas), [6]);
});

test('rolling update: surge the new set, keep replicas - maxUnavailable available', (t) => {
  const d1 = deploy(4);
  const d2 = deploy(4, 'v2');
  const old = rsFor(d1, 4, 4);
  // Template changed: new RS is created with maxSurge (1) pods; old scaled down by maxUnavailable (1).
  const p1 = planDeployment(d2, [old], now);
  t.is(p1.createReplicaSet?.spec?.replicas, 1);
  t.is(p1.createReplicaSet?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
  t.deepEqual(p1.scale.map((s) => [s.rs.metadata?.name, s.replicas]), [[old.metadata?.name, 3]]);
  // New pod not yet available: no further scale-down beyond the budget, new set grows to 2 (3 old + 2 new = 5 = 4 + surge).
  const p2 = planDeployment(d2, [rsFor(d1, 3, 3), rsFor(d2, 1, 0, '2026-01-01T00:10:00Z')], now);
  t.deepEqual(p2.scale.map((s) => s.replicas), [2]);
  // Once everything new is available the old set goes to 0.
  const p3 = planDeployment(d2, [rsFor(d1, 1, 1), rsFor(d2, 4, 4, '2026-01-01T00:10:00Z')], now);
  t.deepEqual(p3.scale.map((s) => s.replicas), [0]);
});

test('status reads complete only when all replicas are updated and available', (t) => {
  const d = deploy(2);
  const done = planDeployment(d, [rsFor(d, 2, 2)], now).status;
  t.like(done, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 0 });
  t.is(done.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
  const rolling = planDeployment(d, [rsFor(d, 2, 1)], now).status;
  t.is(rolling.conditions?.find((c) => c.type === 'Progressing')?.reason, 'ReplicaSetUpdated');
  t.is(rolling.unavailableReplicas, 1);
});

test('Recreate scales old sets to 0 before the new one grows', (t) => {
  const d1 = deploy(3);
  const d2 = deploy(3, 'v2');
  d2.spec!.strategy = { type: 'Recreate' };
  const p = planDeployment(d2, [rsFor(d1, 3, 3)], now);
  t.is(p.createReplicaSet?.spec?.replicas, 0);
  t.deepEqual(p.scale.map((s) => s.replicas), [0]);
});
