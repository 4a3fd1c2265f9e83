import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { defaultJobSpec, validateJobSpec } from './job.ts';
import { obj, validatePodSpec } from './workloads.ts';

/** batch/v1 CronJobs as kube-apiserver: `SetDefaults_CronJob`, the schedule (cron or a descriptor), and the job template. */
type Obj = Record<string, unknown>;

const descriptors = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const policies = ['Allow', 'Forbid', 'Replace'];
const names: Record<number, readonly string[]> = { 3: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], 4: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };
const bounds: ReadonlyArray<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

function validValue(text: string, field: number): boolean {
  const [lo, hi] = bounds[field]!;
  if (/^\d+$/.test(text)) return Number(text) >= lo && Number(text) <= hi;
  return names[field]?.includes(text.toLowerCase()) ?? false;
}

/** cronError tells what is wrong with a 5-field cron expression (robfig/cron's standard parser), or undefined. */
export function cronError(schedule: string): string | undefined {
  const s = schedule.trim();
  if (s.startsWith('TZ=') || s.startsWith('CRON_TZ=')) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  if (s.startsWith('@every ')) return undefined;
  if (s.startsWith('@')) return descriptors.includes(s) ? undefined : `unrecognized descriptor: ${s}`;
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${s}`;
  for (let i = 0; i < 5; i++) {
    for (const part of fields[i]!.split(',')) {
      const [range, step] = part.split('/');
      if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `bad step: ${part}`;
      if (range === '*' || range === '?') continue;
      const ends = range!.split('-');
      if (ends.length > 2 || ends.some((e) => !validValue(e, i))) return `failed to parse int from ${range}`;
    }
  }
  return undefined;
}

export const cronJobStrategy: Strategy = {
  prepareForCreate(cj) {
    cj.status = {};
  },
  defaults(cj) {
    const spec = obj(cj.spec);
    if (!spec) return;
    spec.concurrencyPolicy ??= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const jobSpec = obj(obj(spec.jobTemplate)?.spec);
    if (jobSpec) defaultJobSpec(jobSpec);
  },
  validate(cj) {
    const spec = obj(cj.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    if (typeof spec.schedule !== 'string' || spec.schedule === '') causes.push(cause.required('spec.schedule'));
    else {
      const problem = cronError(spec.schedule);
      if (problem) causes.push(cause.invalid('spec.schedule', spec.schedule, problem));
    }
    if (spec.timeZone !== undefined && (typeof spec.timeZone !== 'string' || !validTimeZone(spec.timeZone))) causes.push(cause.invalid('spec.timeZone', spec.timeZone, 'unknown time zone'));
    if (!policies.includes(spec.concurrencyPolicy as string)) causes.push(cause.unsupported('spec.concurrencyPolicy', spec.concurrencyPolicy, policies));
    for (const f of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit', 'startingDeadlineSeconds']) {
      const v = spec[f];
      if (v !== undefined && v !== null && (!Number.isInteger(v) || (v as number) < 0)) causes.push(cause.invalid(`spec.${f}`, v, 'must be greater than or equal to 0'));
    }
    const jobSpec = obj(obj(spec.jobTemplate)?.spec) as Obj | undefined;
    if (!jobSpec) causes.push(cause.required('spec.jobTemplate.spec'));
    else {
      validatePodSpec(obj(jobSpec.template)?.spec, 'spec.jobTemplate.spec.template.spec', causes);
      validateJobSpec(jobSpec, 'spec.jobTemplate.spec', causes);
    }
    return causes;
  },
};

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone !== '' && zone.toLowerCase() !== 'local';
  } catch {
    return false;
  }
}
