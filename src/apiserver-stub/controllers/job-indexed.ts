import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

/**
 * Indexed Jobs (completionMode Indexed) as kube's `indexed_job_utils.go`:
 * each index 0…completions-1 needs one succeeded pod; a pod carries its
 * index in an annotation and a label, JOB_COMPLETION_INDEX in its
 * environment and `<job>-<index>` as hostname; status.completedIndexes
 * lists the done ones as ranges ("0-2,4").
 */

export const ANNOTATION_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

export const isIndexed = (job: Job) => job.spec?.completionMode === 'Indexed';

/** indexOf reads a pod's completion index, if it has a valid one. */
export function indexOf(job: Job, pod: Pod): number | undefined {
  const v = pod.metadata?.annotations?.[ANNOTATION_COMPLETION_INDEX];
  if (v === undefined || !/^(0|[1-9]\d*)$/.test(v)) return undefined;
  const i = Number(v);
  return i < (job.spec?.completions ?? 0) ? i : undefined;
}

/** succeededIndexes are the indexes with a succeeded pod. */
export function succeededIndexes(job: Job, pods: readonly Pod[]): Set<number> {
  const out = new Set<number>();
  for (const p of pods) {
    const i = indexOf(job, p);
    if (i !== undefined && p.status?.phase === 'Succeeded') out.add(i);
  }
  return out;
}

/** pendingIndexes are the lowest `n` indexes neither done nor running. */
export function pendingIndexes(job: Job, done: ReadonlySet<number>, active: readonly Pod[], n: number): number[] {
  const running = new Set(active.map((p) => indexOf(job, p)));
  const out: number[] = [];
  for (let i = 0; i < (job.spec?.completions ?? 0) && out.length < n; i++) if (!done.has(i) && !running.has(i)) out.push(i);
  return out;
}

/** compressIndexes writes sorted indexes as kube's ranges: 0,1,2,4 → "0-2,4". */
export function compressIndexes(indexes: ReadonlySet<number>): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** withIndex marks a Job's pod with its completion index, as kube's job controller does. */
export function withIndex(pod: Pod, job: Job, index: number): Pod {
  const name = job.metadata?.name ?? '';
  const meta = pod.metadata!;
  meta.generateName = `${name}-${index}-`;
  meta.annotations = { ...meta.annotations, [ANNOTATION_COMPLETION_INDEX]: String(index) };
  meta.labels = { ...meta.labels, [ANNOTATION_COMPLETION_INDEX]: String(index) };
  const spec = pod.spec!;
  spec.hostname ??= `${name}-${index}`;
  const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION_COMPLETION_INDEX}']` } } };
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) c.env = [...(c.env ?? []).filter((e) => e.name !== env.name), env];
  return pod;
}
