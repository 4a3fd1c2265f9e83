import test from 'ava';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { LABEL_CONTROLLER_UID, LABEL_JOB_NAME, MAX_POD_FAILURE_BACKOFF_MS, nextCreateAt, planJob, podForJob } from '../../../src/apiserver-stub/controllers/job-reconcile.ts';
import { pod } from './fixtures.ts';

const now = Date.parse('2026-01-01T01:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function job(spec: Partial<NonNullable<Job['spec']>> = {}, status: Job['status'] = {}): Job {
  return {
    metadata: { name: 'pi', namespace: 'default', uid: 'uid-job' },
    spec: { completions: 1, parallelism: 1, backoffLimit: 6, template: { metadata: { labels: { app: 'pi' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } }, ...spec },
    status,
  };
}

/** ended is a terminal pod whose container finished at `at`. */
function ended(name: string, phase: 'Succeeded' | 'Failed', at: number): Pod {
  const p = pod(name, { phase, ready: false });
  p.status!.containerStatuses = [{ name: 'c', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: phase === 'Failed' ? 1 : 0, finishedAt: iso(at) } } }];
  return p;
}

test('a new Job gets startTime and parallelism pods, never more than the completions left', (t) => {
  const plan = planJob(job({ completions: 3, parallelism: 2 }), [], { now });
  t.is(plan.create, 2);
  t.is(plan.status.startTime, iso(now));
  t.like(plan.status, { ready: 0 });
  t.false('active' in plan.status || 'succeeded' in plan.status || 'failed' in plan.status, 'zero counters are left out, as kube omits them');
  const later = planJob(job({ completions: 3, parallelism: 2 }, { startTime: iso(now - 5000) }), [ended('a', 'Succeeded', now - 1000), ended('b', 'Succeeded', now - 1000), pod('c')], { now });
  t.is(later.create, 0, 'one completion left and one pod running');
  t.is(later.status.startTime, iso(now - 5000), 'startTime is kept');
  t.like(later.status, { active: 1, ready: 1, succeeded: 2 });
});

test('completions reached: Complete condition, completionTime, remaining pods deleted', (t) => {
  const plan = planJob(job({ completions: 2, parallelism: 2 }, { startTime: iso(now - 9000) }), [ended('a', 'Succeeded', now - 1), ended('b', 'Succeeded', now - 1)], { now });
  t.is(plan.create, 0);
  t.like(plan.status.conditions?.[0], { type: 'Complete', status: 'True', reason: 'CompletionsReached' });
  t.is(plan.status.completionTime, iso(now));
  t.is(plan.status.succeeded, 2);
});

test('a work-queue Job (no completions) completes when one pod succeeded and none is active, and starts no more after a success', (t) => {
  const running = planJob(job({ completions: undefined, parallelism: 3 }, { startTime: iso(now) }), [ended('a', 'Succeeded', now), pod('b')], { now });
  t.is(running.create, 0);
  t.is(running.status.conditions, undefined);
  const done = planJob(job({ completions: undefined, parallelism: 3 }, { startTime: iso(now) }), [ended('a', 'Succeeded', now), ended('b', 'Succeeded', now)], { now });
  t.is(done.status.conditions?.[0]?.type, 'Complete');
});

test('failures past backoffLimit fail the Job with BackoffLimitExceeded and delete active pods', (t) => {
  const pods = [ended('a', 'Failed', now - 30_000), ended('b', 'Failed', now - 10_000), pod('c')];
  const plan = planJob(job({ backoffLimit: 1, parallelism: 2, completions: 5 }, { startTime: iso(now - 60_000) }), pods, { now });
  t.like(plan.status.conditions?.[0], { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  t.deepEqual(plan.delete.map((p) => p.metadata?.name), ['c']);
  t.is(plan.create, 0);
  t.is(plan.status.completionTime, undefined);
});

test('restartPolicy OnFailure: container restarts count against backoffLimit', (t) => {
  const p = pod('a', { restarts: 2 });
  const j = job({ backoffLimit: 2 }, { startTime: iso(now) });
  j.spec!.template.spec!.restartPolicy = 'OnFailure';
  t.is(planJob(j, [p], { now }).status.conditions?.[0]?.reason, 'BackoffLimitExceeded');
  t.is(planJob(j, [pod('a', { restarts: 1 })], { now }).status.conditions, undefined);
});

test('pod-failure back-off: 10 s, doubling with each failure since the last success, capped at six minutes', (t) => {
  t.is(nextCreateAt([ended('a', 'Failed', now)]), now + 10_000);
  t.is(nextCreateAt([ended('a', 'Failed', now - 5000), ended('b', 'Failed', now)]), now + 20_000);
  t.is(nextCreateAt([ended('a', 'Failed', now - 9000), ended('b', 'Failed', now - 5000), ended('c', 'Failed', now)]), now + 40_000);
  const many = Array.from({ length: 12 }, (_, i) => ended(`f${i}`, 'Failed', now - i));
  t.is(nextCreateAt(many), now + MAX_POD_FAILURE_BACKOFF_MS);
  t.is(nextCreateAt([ended('a', 'Failed', now - 9000), ended('b', 'Succeeded', now - 5000), ended('c', 'Failed', now)]), now + 10_000, 'a success resets the count');
  t.is(nextCreateAt([ended('a', 'Succeeded', now)]), 0);
});

test('during the back-off no pod is created and the Job is looked at again when it ends', (t) => {
  const j = job({ backoffLimit: 6 }, { startTime: iso(now - 60_000) });
  const waiting = planJob(j, [ended('a', 'Failed', now - 4000)], { now });
  t.is(waiting.create, 0);
  t.is(waiting.requeueAfterMs, 6000);
  t.is(planJob(j, [ended('a', 'Failed', now - 4000)], { now: now + 6000 }).create, 1);
  t.is(planJob(j, [ended('a', 'Failed', now - 1000)], { now, backoffBaseMs: 1500 }).requeueAfterMs, 500, 'the base is configurable');
});

test('activeDeadlineSeconds fails the Job with DeadlineExceeded, and is waited for otherwise', (t) => {
  const j = job({ activeDeadlineSeconds: 30 }, { startTime: iso(now - 30_000) });
  const plan = planJob(j, [pod('a')], { now });
  t.like(plan.status.conditions?.[0], { type: 'Failed', reason: 'DeadlineExceeded' });
  t.is(plan.delete.length, 1);
  t.is(planJob(job({ activeDeadlineSeconds: 30 }, { startTime: iso(now - 10_000) }), [pod('a')], { now }).requeueAfterMs, 20_000);
});

test('parallelism lowered: surplus active pods are deleted; suspend deletes all and sets no startTime', (t) => {
  const pods = [pod('a'), pod('b', { ready: false }), pod('c')];
  const plan = planJob(job({ completions: 10, parallelism: 1 }, { startTime: iso(now) }), pods, { now });
  t.is(plan.delete.length, 2);
  t.is(plan.delete[0]!.metadata?.name, 'b', 'not-ready pods go first');
  const suspended = planJob(job({ suspend: true }), [], { now });
  t.is(suspended.create, 0);
  t.is(suspended.status.startTime, undefined);
});

test('ttlSecondsAfterFinished: deleted once passed, waited for before', (t) => {
  const finished = (at: number) => job({ ttlSecondsAfterFinished: 100 }, { startTime: iso(at - 1000), completionTime: iso(at), conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: iso(at) }] });
  t.true(planJob(finished(now - 100_000), [], { now }).deleteJob);
  const early = planJob(finished(now - 40_000), [], { now });
  t.false(early.deleteJob);
  t.is(early.requeueAfterMs, 60_000);
  t.false(planJob(job({}, { startTime: iso(now) }), [pod('a')], { now }).deleteJob, 'an unfinished Job is kept');
});

test('a finished Job creates nothing more', (t) => {
  const j = job({ completions: 3 }, { startTime: iso(now), conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] });
  const plan = planJob(j, [ended('a', 'Failed', now)], { now });
  t.is(plan.create, 0);
  t.is(plan.status.conditions?.length, 1);
});

test('pods carry the Job labels and a controller reference', (t) => {
  const p = podForJob(job());
  t.is(p.metadata?.generateName, 'pi-');
  t.like(p.metadata?.labels, { app: 'pi', [LABEL_JOB_NAME]: 'pi', [LABEL_CONTROLLER_UID]: 'uid-job', 'job-name': 'pi', 'controller-uid': 'uid-job' });
  t.like(p.metadata?.ownerReferences?.[0], { apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'uid-job', controller: true, blockOwnerDeletion: true });
  t.is(p.spec?.restartPolicy, 'Never');
});

test('podFailurePolicy: FailJob on a listed exit code fails the Job at once; Ignore leaves the failure uncounted and without back-off', (t) => {
  const exit = (name: string, code: number, container = 'c') => {
    const p = ended(name, 'Failed', now - 1000);
    p.status!.containerStatuses = [{ name: container, image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: code, finishedAt: iso(now - 1000) } } }];
    return p;
  };
  const policy = { rules: [
    { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
  ] };
  const j = job({ backoffLimit: 6, podFailurePolicy: policy }, { startTime: iso(now - 60_000) });
  const fail = planJob(j, [exit('a', 42)], { now });
  t.like(fail.status.conditions?.[0], { type: 'Failed', reason: 'PodFailurePolicy', message: 'Container c for pod default/a failed with exit code 42 matching FailJob rule at index 0' });
  t.is(planJob(j, [exit('a', 42, 'sidecar')], { now }).status.conditions, undefined, 'another container: no match');
  const ignored = planJob(j, [exit('a', 3)], { now });
  t.is(ignored.status.failed, undefined, 'not counted');
  t.is(ignored.create, 1, 'replaced without back-off');
  const disrupted = ended('b', 'Failed', now - 1000);
  disrupted.status!.conditions = [{ type: 'DisruptionTarget', status: 'True' }];
  t.is(planJob(j, [disrupted], { now }).create, 1);
  const counted = planJob(j, [exit('a', 1)], { now });
  t.is(counted.status.failed, 1, 'no rule matches: counted');
  t.is(counted.create, 0, 'and backed off from');
  const tight = job({ backoffLimit: 0, podFailurePolicy: policy }, { startTime: iso(now - 60_000) });
  t.is(planJob(tight, [exit('a', 3)], { now }).status.conditions, undefined, 'an ignored failure does not reach backoffLimit 0');
});

test('Indexed: pods get the lowest free indexes (annotation, label, hostname, JOB_COMPLETION_INDEX); an index counts once; completedIndexes in ranges', (t) => {
  const j = job({ completionMode: 'Indexed', completions: 5, parallelism: 2 }, { startTime: iso(now) });
  const at = (p: Pod, i: number) => ({ ...p, metadata: { ...p.metadata, annotations: { 'batch.kubernetes.io/job-completion-index': String(i) } } });
  const first = planJob(j, [], { now });
  t.deepEqual(first.indexes, [0, 1]);
  const p = podForJob(j, 3);
  t.is(p.metadata?.generateName, 'pi-3-');
  t.is(p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], '3');
  t.is(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], '3');
  t.is(p.spec?.hostname, 'pi-3');
  t.deepEqual(p.spec?.containers[0]?.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
  const pods = [at(ended('a', 'Succeeded', now), 0), at(ended('a2', 'Succeeded', now), 0), at(ended('b', 'Succeeded', now), 1), at(ended('c', 'Succeeded', now), 3), at(pod('d'), 2)];
  const mid = planJob(j, pods, { now });
  t.is(mid.status.succeeded, 3, 'index 0 twice counts once');
  t.is(mid.status.completedIndexes, '0-1,3');
  t.deepEqual(mid.indexes, [4], 'index 2 runs; 4 is the one left');
  const done = planJob(j, [...pods.slice(0, 4), at(ended('d', 'Succeeded', now), 2), at(ended('e', 'Succeeded', now), 4)], { now });
  t.is(done.status.completedIndexes, '0-4');
  t.is(done.status.conditions?.[0]?.type, 'Complete');
});
