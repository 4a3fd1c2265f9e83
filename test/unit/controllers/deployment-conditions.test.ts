import test from 'ava';
import type { Deployment, DeploymentCondition } from 'kubernetes-types/apps/v1.js';
import { deploymentConditions, recheckAfterMs } from '../../../src/apiserver-stub/controllers/deployment-conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const progressing = (reason: string, at: Date, status = 'True'): DeploymentCondition => ({ type: 'Progressing', status, reason, message: '', lastUpdateTime: at.toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: '2025-12-31T00:00:00Z' });
const deploy = (conditions: DeploymentCondition[], status = { replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }): Deployment => ({
  metadata: { name: 'd', generation: 1 },
  spec: { replicas: 2, progressDeadlineSeconds: 10, selector: {}, template: {} },
  status: { ...status, observedGeneration: 1, conditions },
});
const rs = { metadata: { name: 'd-abc' } };
const prog = (cs: DeploymentCondition[]) => cs.find((c) => c.type === 'Progressing')!;

test('progress refreshes lastUpdateTime and keeps lastTransitionTime; no progress past the deadline times out', (t) => {
  const d = deploy([progressing('ReplicaSetUpdated', t0)]);
  const more = deploymentConditions({ d, newRS: rs, status: { replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 }, maxUnavailable: 0, now: later(5) });
  t.like(prog(more), { reason: 'ReplicaSetUpdated', lastUpdateTime: '2026-01-01T00:00:05Z', lastTransitionTime: '2025-12-31T00:00:00Z', message: 'ReplicaSet "d-abc" is progressing.' });
  const same = { replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 };
  t.is(prog(deploymentConditions({ d, newRS: rs, status: same, maxUnavailable: 0, now: later(9) })).reason, 'ReplicaSetUpdated', 'within the deadline');
  const out = prog(deploymentConditions({ d, newRS: rs, status: same, maxUnavailable: 0, now: later(11) }));
  t.like(out, { status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "d-abc" has timed out progressing.' });
  t.is(recheckAfterMs(d, d.status!.conditions!, later(4)), 7000, 'looked at again one second after the deadline');
});

test('complete is NewReplicaSetAvailable and stays so on a later scale; Available follows maxUnavailable', (t) => {
  const d = deploy([progressing('ReplicaSetUpdated', t0)]);
  const done = deploymentConditions({ d, newRS: rs, status: { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 }, maxUnavailable: 0, now: later(1) });
  t.like(prog(done), { status: 'True', reason: 'NewReplicaSetAvailable' });
  t.like(done.find((c) => c.type === 'Available'), { status: 'True', reason: 'MinimumReplicasAvailable' });
  const scaled = deploy(done, { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
  scaled.spec!.replicas = 5;
  const after = deploymentConditions({ d: scaled, newRS: rs, status: { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 }, maxUnavailable: 1, now: later(100) });
  t.is(prog(after).reason, 'NewReplicaSetAvailable');
  t.like(after.find((c) => c.type === 'Available'), { status: 'False', reason: 'MinimumReplicasUnavailable' });
  t.is(recheckAfterMs(scaled, after, later(100)), undefined);
});

test('a created set, a paused and a resumed deployment', (t) => {
  const d = deploy([]);
  t.like(prog(deploymentConditions({ d, newRS: undefined, created: 'd-new', status: {}, maxUnavailable: 0, now: t0 })), { reason: 'NewReplicaSetCreated', message: 'Created new replica set "d-new"' });
  d.spec!.paused = true;
  const paused = deploymentConditions({ d, newRS: rs, status: {}, maxUnavailable: 0, now: t0 });
  t.like(prog(paused), { status: 'Unknown', reason: 'DeploymentPaused' });
  t.is(recheckAfterMs(d, paused, t0), undefined, 'no deadline while paused');
  const resumed = deploy(paused);
  t.like(prog(deploymentConditions({ d: resumed, newRS: rs, status: resumed.status!, maxUnavailable: 0, now: t0 })), { status: 'Unknown', reason: 'DeploymentResumed' });
});
