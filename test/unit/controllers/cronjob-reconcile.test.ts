import test from 'ava';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { CronSchedule } from '../../../src/apiserver-stub/controllers/cron-schedule.ts';
import { ANNOTATION_SCHEDULED, dueTime, planCronJob, prunable } from '../../../src/apiserver-stub/controllers/cronjob-reconcile.ts';

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const next = (expr: string, after: string, tz?: string) => iso(new CronSchedule(expr, tz).next(at(after))!);

test('five-field schedules: steps, ranges, lists, names, and day-of-month OR day-of-week', (t) => {
  t.is(next('*/15 * * * *', '2026-03-01T10:07:30Z'), '2026-03-01T10:15:00Z');
  t.is(next('*/1 * * * *', '2026-03-01T10:07:00Z'), '2026-03-01T10:08:00Z', 'strictly after');
  t.is(next('0 9-17/4 * * *', '2026-03-01T13:00:00Z'), '2026-03-01T17:00:00Z');
  t.is(next('30 2 * * mon-fri', '2026-03-07T00:00:00Z'), '2026-03-09T02:30:00Z', 'Saturday → Monday');
  t.is(next('0 0 1,15 * *', '2026-03-02T00:00:00Z'), '2026-03-15T00:00:00Z');
  t.is(next('0 0 * feb *', '2026-03-02T00:00:00Z'), '2027-02-01T00:00:00Z');
  t.is(next('0 0 13 * 5', '2026-03-02T00:00:00Z'), '2026-03-06T00:00:00Z', 'the 13th or a Friday, whichever comes first');
  t.is(next('0 0 * * 7', '2026-03-02T00:00:00Z'), '2026-03-08T00:00:00Z', '7 is Sunday');
  t.is(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00Z');
  t.throws(() => new CronSchedule('* * *'), { message: /expected exactly 5 fields/ });
  t.throws(() => new CronSchedule('61 * * * *'));
});

test('macros and @every', (t) => {
  t.is(next('@hourly', '2026-03-01T10:07:00Z'), '2026-03-01T11:00:00Z');
  t.is(next('@daily', '2026-03-01T10:07:00Z'), '2026-03-02T00:00:00Z');
  t.is(next('@midnight', '2026-03-01T10:07:00Z'), '2026-03-02T00:00:00Z');
  t.is(next('@weekly', '2026-03-04T10:07:00Z'), '2026-03-08T00:00:00Z');
  t.is(next('@monthly', '2026-03-04T10:07:00Z'), '2026-04-01T00:00:00Z');
  t.is(next('@yearly', '2026-03-04T10:07:00Z'), '2027-01-01T00:00:00Z');
  t.is(next('@annually', '2026-03-04T10:07:00Z'), '2027-01-01T00:00:00Z');
  t.is(next('@every 90s', '2026-03-04T10:07:00Z'), '2026-03-04T10:08:30Z');
});

test('timeZone: the fields are read in the zone, across a DST change', (t) => {
  t.is(next('0 9 * * *', '2026-01-10T12:00:00Z', 'America/New_York'), '2026-01-10T14:00:00Z', 'EST is UTC-5');
  t.is(next('0 9 * * *', '2026-07-10T12:00:00Z', 'America/New_York'), '2026-07-10T13:00:00Z', 'EDT is UTC-4');
  t.is(next('30 8 * * *', '2026-01-10T12:00:00Z', 'Asia/Kolkata'), '2026-01-11T03:00:00Z');
});

function cronJob(spec: Partial<NonNullable<CronJob['spec']>> = {}, status: CronJob['status'] = {}): CronJob {
  return {
    metadata: { name: 'hello', namespace: 'default', uid: 'uid-cj', creationTimestamp: '2026-03-01T10:00:30Z' },
    spec: { schedule: '*/1 * * * *', jobTemplate: { metadata: { labels: { app: 'hello' } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } }, ...spec },
    status,
  };
}

function job(name: string, o: { done?: 'Complete' | 'Failed'; start: string }): Job {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: o.start },
    status: { startTime: o.start, ...(o.done ? { conditions: [{ type: o.done, status: 'True' }], ...(o.done === 'Complete' ? { completionTime: o.start } : {}) } : {}) },
  };
}

test('a due time creates <name>-<minutes> owned by the CronJob, and the status records it', (t) => {
  const now = at('2026-03-01T10:01:10Z');
  const plan = planCronJob(cronJob(), [], now);
  const scheduled = at('2026-03-01T10:01:00Z');
  t.is(plan.create?.metadata?.name, `hello-${scheduled / 60_000}`);
  t.is(plan.create?.metadata?.annotations?.[ANNOTATION_SCHEDULED], '2026-03-01T10:01:00Z');
  t.like(plan.create?.metadata?.ownerReferences?.[0], { kind: 'CronJob', name: 'hello', uid: 'uid-cj', controller: true });
  t.deepEqual(plan.create?.metadata?.labels, { app: 'hello' });
  t.is(plan.status.lastScheduleTime, '2026-03-01T10:01:00Z');
  t.is(plan.requeueAfterMs, 50_000, 'next at 10:02');
  const again = planCronJob(cronJob({}, { lastScheduleTime: '2026-03-01T10:01:00Z' }), [job(plan.create!.metadata!.name!, { start: '2026-03-01T10:01:00Z' })], now);
  t.is(again.create, undefined, 'nothing new before 10:02');
  t.is(again.status.active?.[0]?.name, plan.create?.metadata?.name);
});

test('missed times: the most recent is started once; startingDeadlineSeconds skips a late one and bounds the look-back', (t) => {
  const cj = cronJob({}, { lastScheduleTime: '2026-03-01T10:01:00Z' });
  const d = dueTime(cj, new CronSchedule('*/1 * * * *'), at('2026-03-01T10:05:30Z'));
  t.is(d.missed, 4);
  t.is(iso(d.due!), '2026-03-01T10:05:00Z');
  const late = planCronJob(cronJob({ startingDeadlineSeconds: 10 }, { lastScheduleTime: '2026-03-01T10:01:00Z' }), [], at('2026-03-01T10:05:30Z'));
  t.is(late.create, undefined, '10:05:00 is more than 10 s ago: not started');
  t.is(late.requeueAfterMs, 30_000, 'the next one, 10:06, is waited for');
  t.truthy(planCronJob(cronJob({ startingDeadlineSeconds: 60 }), [], at('2026-03-01T10:05:30Z')).create);
  const many = dueTime(cronJob({}, { lastScheduleTime: '2026-01-01T00:00:00Z' }), new CronSchedule('*/1 * * * *'), at('2026-03-01T10:05:30Z'));
  t.true(many.missed > 100);
  t.is(iso(many.due!), '2026-03-01T10:05:00Z');
});

test('concurrencyPolicy: Allow runs alongside, Forbid waits, Replace deletes the active Job', (t) => {
  const now = at('2026-03-01T10:02:05Z');
  const status = { lastScheduleTime: '2026-03-01T10:01:00Z' };
  const running = [job('hello-1', { start: '2026-03-01T10:01:00Z' })];
  t.truthy(planCronJob(cronJob({ concurrencyPolicy: 'Allow' }, status), running, now).create);
  const forbid = planCronJob(cronJob({ concurrencyPolicy: 'Forbid' }, status), running, now);
  t.is(forbid.create, undefined);
  t.is(forbid.status.lastScheduleTime, '2026-03-01T10:01:00Z', 'the time stays due');
  const replace = planCronJob(cronJob({ concurrencyPolicy: 'Replace' }, status), running, now);
  t.truthy(replace.create);
  t.deepEqual(replace.replace.map((j) => j.metadata?.name), ['hello-1']);
  const done = [job('hello-1', { start: '2026-03-01T10:01:00Z', done: 'Complete' })];
  t.truthy(planCronJob(cronJob({ concurrencyPolicy: 'Forbid' }, status), done, now).create, 'Forbid starts once the last one finished');
});

test('suspend starts nothing; history limits prune the oldest finished Jobs; lastSuccessfulTime', (t) => {
  t.is(planCronJob(cronJob({ suspend: true }), [], at('2026-03-01T10:05:00Z')).create, undefined);
  const jobs = [
    job('ok-1', { start: '2026-03-01T10:01:00Z', done: 'Complete' }),
    job('ok-2', { start: '2026-03-01T10:02:00Z', done: 'Complete' }),
    job('ok-3', { start: '2026-03-01T10:03:00Z', done: 'Complete' }),
    job('bad-1', { start: '2026-03-01T10:01:30Z', done: 'Failed' }),
    job('bad-2', { start: '2026-03-01T10:02:30Z', done: 'Failed' }),
    job('run', { start: '2026-03-01T10:04:00Z' }),
  ];
  t.deepEqual(prunable(cronJob({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }), jobs).map((j) => j.metadata?.name), ['ok-1', 'bad-1']);
  t.deepEqual(prunable(cronJob({ successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }), jobs).map((j) => j.metadata?.name), ['ok-1', 'ok-2', 'ok-3', 'bad-1', 'bad-2']);
  const plan = planCronJob(cronJob({ suspend: true }), jobs, at('2026-03-01T10:05:00Z'));
  t.is(plan.status.lastSuccessfulTime, '2026-03-01T10:03:00Z');
  t.deepEqual(plan.status.active?.map((a) => a.name), ['run']);
});
