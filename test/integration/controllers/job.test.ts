import test from 'ava';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, kubectlOld, until, workbench, type PodFate } from './workload-fixture.ts';

/**
 * Issue 18: the Job controller driven by kubectl. The stand-in kubelet ends
 * a pod as its command says: `false` fails, `sleep` keeps running, anything
 * else succeeds.
 */
const fate = (p: Pod): PodFate => {
  const cmd = (p.spec?.containers[0]?.command ?? []).join(' ');
  return cmd.includes('false') ? 'fail' : cmd.includes('sleep') ? 'run' : 'succeed';
};

const jobYaml = (name: string, spec: string, command: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}, namespace: default}
spec:
${spec}
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [${command}]}]
`;

for (const bin of [kubectlBin, ...(kubectlOld ? [kubectlOld] : [])]) test(`${bin}: completions 3 / parallelism 2 completes with never more than 2 pods running; labels and owner`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['job'], fate, kubectl: bin });
  let maxActive = 0;
  const watch = setInterval(() => {
    void pods('batch.kubernetes.io/job-name=pi').then((ps) => {
      maxActive = Math.max(maxActive, ps.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length);
    }).catch(() => undefined);
  }, 50);
  t.teardown(() => clearInterval(watch));
  await k(['apply', '-f', '-'], { input: jobYaml('pi', '  completions: 3\n  parallelism: 2', 'echo, ok') });
  await k(['wait', '--for=condition=complete', 'job/pi', '--timeout=30s']);
  clearInterval(watch);
  const job = await client.get<Job>(resources.jobs, 'pi', { namespace: 'default' });
  t.like(job.status, { succeeded: 3, ready: 0 });
  t.is(job.status?.active, undefined, 'no active counter once none is (kube omits zeros)');
  t.is(job.status?.failed, undefined);
  t.truthy(job.status?.startTime);
  t.truthy(job.status?.completionTime);
  t.like(job.status?.conditions?.find((c) => c.type === 'Complete'), { status: 'True', reason: 'CompletionsReached' });
  t.true(maxActive <= 2 && maxActive >= 1, `at most parallelism pods at once (saw ${maxActive})`);
  const ps = await pods('batch.kubernetes.io/job-name=pi');
  t.is(ps.length, 3);
  for (const p of ps) {
    t.is(p.metadata?.labels?.['batch.kubernetes.io/controller-uid'], job.metadata?.uid);
    t.like(p.metadata?.ownerReferences?.[0], { kind: 'Job', name: 'pi', uid: job.metadata?.uid, controller: true });
  }
  t.regex(await k(['get', 'job', 'pi']), /pi\s+Complete\s+3\/3/);
  const described = await until('the Job\'s events', async () => {
    const out = await k(['describe', 'job', 'pi']);
    return /Normal\s+Completed\s+\S+\s+job-controller\s+Job completed/.test(out) ? out : undefined;
  });
  t.regex(described, /Normal\s+SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: pi-\w+/);
});

test(`${kubectlBin}: a failing Job backs off between pods and stops at backoffLimit with the Failed condition`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['job'], fate, workloads: { jobBackoffBaseMs: 1500 } });
  await k(['apply', '-f', '-'], { input: jobYaml('bad', '  backoffLimit: 2', '"false"') });
  await k(['wait', '--for=condition=failed', 'job/bad', '--timeout=30s']);
  const job = await client.get<Job>(resources.jobs, 'bad', { namespace: 'default' });
  t.like(job.status?.conditions?.find((c) => c.type === 'Failed'), { status: 'True', reason: 'BackoffLimitExceeded' });
  t.is(job.status?.failed, 3, 'backoffLimit 2: the third failure fails the Job');
  const created = (await pods('job-name=bad')).map((p) => Date.parse(p.metadata!.creationTimestamp!)).sort((a, b) => a - b);
  t.is(created.length, 3, 'no pod after the Job failed');
  // Back-off 1.5 s then 3 s after each failure; timestamps have 1 s resolution, so only a lower bound of the total is checked.
  t.true(created[2]! - created[0]! >= 2000, `pods spread by the back-off: ${created.map((c) => c - created[0]!).join(', ')}`);
  t.regex(await k(['get', 'job', 'bad']), /bad\s+Failed\s+0\/1/);
  t.regex(await k(['describe', 'job', 'bad']), /Pods Statuses:\s+0 Active \(0 Ready\) \/ 0 Succeeded \/ 3 Failed/);
  await until('the BackoffLimitExceeded event', async () => /Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit/.test(await k(['describe', 'job', 'bad'])));
});

test(`${kubectlBin}: activeDeadlineSeconds fails a running Job and deletes its pod; ttlSecondsAfterFinished deletes the Job and its pods`, async (t) => {
  // The garbage collector removes the pods of the Job the TTL deletes (propagationPolicy Background).
  const { client, k, pods } = await workbench(t, { controllers: ['job', 'garbagecollector'], fate });
  await k(['apply', '-f', '-'], { input: jobYaml('slow', '  activeDeadlineSeconds: 2', 'sleep, "3600"') });
  await until('a running pod', async () => (await pods('job-name=slow')).some((p) => p.status?.phase === 'Running'));
  await k(['wait', '--for=condition=failed', 'job/slow', '--timeout=30s']);
  const slow = await client.get<Job>(resources.jobs, 'slow', { namespace: 'default' });
  t.like(slow.status?.conditions?.find((c) => c.type === 'Failed'), { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
  await until('the running pod deleted', async () => (await pods('job-name=slow')).length === 0);

  await k(['apply', '-f', '-'], { input: jobYaml('brief', '  ttlSecondsAfterFinished: 4', 'echo') });
  await k(['wait', '--for=condition=complete', 'job/brief', '--timeout=30s']);
  t.is((await pods('job-name=brief')).length, 1);
  await until('the Job gone', async () => !(await client.list<Job>(resources.jobs, { namespace: 'default' })).items.some((j) => j.metadata?.name === 'brief'));
  await until('its pod gone', async () => (await pods('job-name=brief')).length === 0);
  t.regex(await k(['get', 'job', 'brief'], { allowFail: true }), /NotFound|not found/);
});

test(`${kubectlBin}: podFailurePolicy FailJob on exit code 1 fails the Job at its first failure, whatever backoffLimit`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['job'], fate });
  const spec = '  backoffLimit: 6\n  podFailurePolicy:\n    rules: [{action: FailJob, onExitCodes: {operator: In, values: [1]}}]';
  await k(['apply', '-f', '-'], { input: jobYaml('strict', spec, '"false"') });
  await k(['wait', '--for=condition=failed', 'job/strict', '--timeout=30s']);
  const job = await client.get<Job>(resources.jobs, 'strict', { namespace: 'default' });
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
  t.is(failed?.reason, 'PodFailurePolicy');
  t.regex(failed?.message ?? '', /^Container c for pod default\/strict-\w+ failed with exit code 1 matching FailJob rule at index 0$/);
  t.is((await pods('job-name=strict')).length, 1, 'no second pod');
});

test(`${kubectlBin}: an Indexed Job runs each index once and reports completedIndexes`, async (t) => {
  const { client, k, pods } = await workbench(t, { controllers: ['job'], fate });
  await k(['apply', '-f', '-'], { input: jobYaml('idx', '  completionMode: Indexed\n  completions: 4\n  parallelism: 2', 'echo') });
  await k(['wait', '--for=condition=complete', 'job/idx', '--timeout=30s']);
  const job = await client.get<Job>(resources.jobs, 'idx', { namespace: 'default' });
  t.like(job.status, { succeeded: 4, completedIndexes: '0-3' });
  const ps = await pods('job-name=idx');
  t.deepEqual(ps.map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']).sort(), ['0', '1', '2', '3']);
  t.true(ps.every((p) => p.spec?.hostname === `idx-${p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']}`));
  t.regex(await k(['describe', 'job', 'idx']), /Completed Indexes:\s+0-3/);
});
