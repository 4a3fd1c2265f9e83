import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { defaultPodSpec, obj, validateSelectorAndTemplate } from './workloads.ts';

/**
 * batch/v1 Jobs as kube-apiserver: defaults (`SetDefaults_Job`), the
 * generated selector on the Job's uid (`generateSelector`, unless
 * `manualSelector`), restartPolicy OnFailure or Never, and a template and
 * selector that do not change after creation.
 */
type Obj = Record<string, unknown>;

const uidLabel = 'batch.kubernetes.io/controller-uid';
const nameLabel = 'batch.kubernetes.io/job-name';

/** defaultJobSpec is shared with CronJob's jobTemplate. */
export function defaultJobSpec(spec: Obj): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex === undefined ? 6 : 2147483647;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy === undefined ? 'TerminatingOrFailed' : 'Failed';
  const podSpec = obj(obj(spec.template)?.spec);
  if (podSpec) defaultPodSpec(podSpec);
}

/** generateSelector labels the template with the Job's uid and name and selects on the uid. */
function generateSelector(job: KubeObject): void {
  const spec = obj(job.spec);
  const template = obj(spec?.template);
  if (!spec || !template || spec.manualSelector === true) return;
  const uid = job.metadata?.uid ?? '';
  const name = job.metadata?.name ?? '';
  const meta = (obj(template.metadata) ?? (template.metadata = {})) as Obj;
  meta.labels = { ...(obj(meta.labels) ?? {}), [uidLabel]: uid, [nameLabel]: name, 'controller-uid': uid, 'job-name': name };
  if (spec.selector === undefined || spec.selector === null) spec.selector = { matchLabels: { [uidLabel]: uid } };
}

function nonNegative(spec: Obj, field: string, prefix: string, causes: StatusCause[]): void {
  const v = spec[field];
  if (v !== undefined && v !== null && (!Number.isInteger(v) || (v as number) < 0)) causes.push(cause.invalid(`${prefix}.${field}`, v, 'must be greater than or equal to 0'));
}

/** validateJobSpec checks what a Job and a CronJob's jobTemplate share; `prefix` is the field path of the spec. */
export function validateJobSpec(spec: Obj, prefix: string, causes: StatusCause[]): void {
  for (const f of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) nonNegative(spec, f, prefix, causes);
  if (!['NonIndexed', 'Indexed'].includes(spec.completionMode as string)) causes.push(cause.unsupported(`${prefix}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) causes.push(cause.required(`${prefix}.completions`, 'Required value: when completion mode is Indexed'));
  const restart = obj(obj(spec.template)?.spec)?.restartPolicy;
  if (!['OnFailure', 'Never'].includes(restart as string)) causes.push(cause.unsupported(`${prefix}.template.spec.restartPolicy`, restart, ['OnFailure', 'Never']));
}

function validateImmutable(spec: Obj, old: Obj, causes: StatusCause[]): void {
  if (JSON.stringify(spec.selector) !== JSON.stringify(old.selector)) causes.push(cause.invalid('spec.selector', spec.selector, 'field is immutable'));
  if (spec.completionMode !== old.completionMode) causes.push(cause.invalid('spec.completionMode', spec.completionMode, 'field is immutable'));
  // kube lets a suspended Job's scheduling directives change; the rest of the template is fixed.
  if (JSON.stringify(obj(spec.template)?.spec) !== JSON.stringify(obj(old.template)?.spec) && old.suspend !== true) {
    causes.push(cause.invalid('spec.template', spec.template, 'field is immutable'));
  }
}

export const jobStrategy: Strategy = {
  prepareForCreate(job) {
    job.status = {};
    generateSelector(job);
  },
  prepareForUpdate(job, old) {
    // An apply that leaves out the generated selector keeps it, as the stored object always has one.
    const spec = obj(job.spec);
    const oldSpec = obj(old.spec);
    if (spec && oldSpec && spec.selector === undefined) spec.selector = oldSpec.selector;
    const template = obj(spec?.template);
    const oldLabels = obj(obj(obj(oldSpec?.template)?.metadata)?.labels);
    if (template && oldLabels && oldSpec?.manualSelector !== true) {
      const meta = (obj(template.metadata) ?? (template.metadata = {})) as Obj;
      meta.labels = { ...oldLabels, ...(obj(meta.labels) ?? {}) };
      for (const k of [uidLabel, nameLabel, 'controller-uid', 'job-name']) if (k in oldLabels) (meta.labels as Obj)[k] = oldLabels[k];
    }
  },
  defaults(job) {
    const spec = obj(job.spec);
    if (spec) defaultJobSpec(spec);
  },
  validate(job, old) {
    const spec = obj(job.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateSelectorAndTemplate(spec, causes, 'job');
    validateJobSpec(spec, 'spec', causes);
    const oldSpec = obj(old?.spec);
    if (oldSpec) validateImmutable(spec, oldSpec, causes);
    return causes;
  },
};
