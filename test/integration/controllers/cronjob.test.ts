import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, until, workbench, type PodFate } from './workload-fixture.ts';

/**
 * Issue 18: CronJob and Job controllers together, driven by kubectl, on a
 * test-speed clock: one cluster minute passes every half second of real
 * time, so `*\/1 * * * *` fires twice a second.
 */
const SPEED = 120;

function fastClock(): () => number {
  const start = Date.now();
  return () => start + (Date.now() - start) * SPEED;
}

const fate = (p: Pod): PodFate => ((p.spec?.containers[0]?.command ?? []).join(' ').includes('sleep') ? 'run' : 'succeed');

const cronYaml = (name: string, extra: string, command: string) => `apiVersion: batch/v1
kind: CronJob
metadata: {name: ${name}, namespace: default}
spec:
  schedule: "*/1 * * * *"
${extra}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: [${command}]}]
`;

const jobsOf = async (client: import('../../../src/client/api-client.ts').ApiClient, owner: string) =>
  (await client.list<Job>(resources.jobs, { namespace: 'default' })).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === owner && !j.metadata?.deletionTimestamp);

test(`${kubectlBin}: a CronJob creates a Job each minute, keeps successfulJobsHistoryLimit, records its times, and stops when suspended`, async (t) => {
  const now = fastClock();
  const { client, k } = await workbench(t, { controllers: ['cronjob', 'job', 'garbagecollector'], fate, workloads: { now, cronJobTickMs: 100 } });
  await k(['apply', '-f', '-'], { input: cronYaml('hello', '  successfulJobsHistoryLimit: 2', 'echo') });
  const seen = new Set<string>();
  await until('four Jobs run', async () => {
    for (const j of await jobsOf(client, 'hello')) seen.add(j.metadata!.name!);
    return seen.size >= 4;
  }, 30_000);
  const cj = await until('history trimmed to 2 with times recorded', async () => {
    const jobs = await jobsOf(client, 'hello');
    const c = await client.get<CronJob>(resources.cronjobs, 'hello', { namespace: 'default' });
    const finished = jobs.filter((j) => j.status?.conditions?.some((x) => x.type === 'Complete'));
    return finished.length <= 2 && c.status?.lastSuccessfulTime && c.status.lastScheduleTime ? c : undefined;
  });
  for (const name of seen) {
    const minutes = Number(name.slice('hello-'.length));
    t.is(new Date(minutes * 60_000).getUTCSeconds(), 0, `${name} is named after its scheduled minute`);
  }
  t.regex(await k(['get', 'cronjob', 'hello']), /hello\s+\*\/1 \* \* \* \*\s+<none>\s+false\s+\d+\s+\S+/);
  t.true(Date.parse(cj.status!.lastScheduleTime!) > Date.now(), 'times are the test clock\'s (ahead of real time)');

  await until('the CronJob\'s events', async () => {
    const out = await k(['describe', 'cronjob', 'hello']);
    return /SuccessfulCreate\s+\S+\s+cronjob-controller\s+Created job hello-\d+/.test(out) && /SawCompletedJob\s+\S+\s+cronjob-controller\s+Saw completed job: hello-\d+, status: Complete/.test(out) && /SuccessfulDelete\s+\S+\s+cronjob-controller\s+Deleted job hello-\d+/.test(out);
  });
  await k(['patch', 'cronjob/hello', '-p', '{"spec":{"suspend":true}}']);
  await sleep(300);
  const frozen = new Set((await jobsOf(client, 'hello')).map((j) => j.metadata?.name));
  await sleep(1500);
  const later = (await jobsOf(client, 'hello')).map((j) => j.metadata?.name);
  t.true(later.every((n) => frozen.has(n)), `no new Job while suspended (3 cluster minutes): ${later.join(', ')}`);
});

test(`${kubectlBin}: concurrencyPolicy Forbid never runs two Jobs at once; Replace swaps the running Job for the new one`, async (t) => {
  const now = fastClock();
  const { client, k } = await workbench(t, { controllers: ['cronjob', 'job', 'garbagecollector'], fate, workloads: { now, cronJobTickMs: 100 } });
  await k(['apply', '-f', '-'], { input: cronYaml('forbid', '  concurrencyPolicy: Forbid', 'sleep, "3600"') });
  await until('the first Job', async () => (await jobsOf(client, 'forbid')).length === 1);
  await sleep(2000);
  t.is((await jobsOf(client, 'forbid')).length, 1, 'four cluster minutes later still only the first Job');
  const c = await client.get<CronJob>(resources.cronjobs, 'forbid', { namespace: 'default' });
  t.is(c.status?.active?.length, 1);

  await k(['apply', '-f', '-'], { input: cronYaml('replace', '  concurrencyPolicy: Replace', 'sleep, "3600"') });
  const first = await until('the first replace Job', async () => (await jobsOf(client, 'replace'))[0]?.metadata?.name);
  const second = await until('a newer Job in its place', async () => {
    const jobs = await jobsOf(client, 'replace');
    return jobs.length === 1 && jobs[0]!.metadata!.name !== first ? jobs[0]!.metadata!.name : undefined;
  });
  t.true(Number(second!.split('-')[1]) > Number(first.split('-')[1]));
  await until('the replaced Job gone', async () => !(await client.list<Job>(resources.jobs, { namespace: 'default' })).items.some((j) => j.metadata?.name === first));
});
