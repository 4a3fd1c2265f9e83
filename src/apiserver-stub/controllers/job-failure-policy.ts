import type { Job, PodFailurePolicyRule } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

/**
 * A Job's podFailurePolicy as kube's `pod_failure_policy.go`
 * (`matchPodFailurePolicy`): the first rule matching a failed pod decides
 * whether it fails the Job (FailJob), is not counted against backoffLimit
 * (Ignore) or is counted (Count, and the default when no rule matches).
 * FailIndex (indexed Jobs with backoffLimitPerIndex) is treated as Count.
 */

export type FailureVerdict = { action: 'Count' } | { action: 'Ignore' } | { action: 'FailJob'; message: string };

function matchExitCodes(rule: PodFailurePolicyRule, pod: Pod): string | undefined {
  const req = rule.onExitCodes;
  if (!req) return undefined;
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    if (req.containerName && req.containerName !== c.name) continue;
    const code = c.state?.terminated?.exitCode;
    // Exit code 0 never matches: a container that succeeded did not cause the failure.
    if (code === undefined || code === 0) continue;
    const listed = req.values.includes(code);
    if (req.operator === 'In' ? listed : !listed) return `Container ${c.name} for pod ${pod.metadata?.namespace}/${pod.metadata?.name} failed with exit code ${code}`;
  }
  return undefined;
}

function matchConditions(rule: PodFailurePolicyRule, pod: Pod): string | undefined {
  for (const want of rule.onPodConditions ?? []) {
    const c = pod.status?.conditions?.find((x) => x.type === want.type && x.status === (want.status ?? 'True'));
    if (c) return `Pod ${pod.metadata?.namespace}/${pod.metadata?.name} has condition ${want.type}`;
  }
  return undefined;
}

/** verdict applies the Job's podFailurePolicy to one failed pod. */
export function verdict(job: Job, pod: Pod): FailureVerdict {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  for (const [i, rule] of rules.entries()) {
    const why = matchExitCodes(rule, pod) ?? matchConditions(rule, pod);
    if (why === undefined) continue;
    if (rule.action === 'FailJob') return { action: 'FailJob', message: `${why} matching FailJob rule at index ${i}` };
    if (rule.action === 'Ignore') return { action: 'Ignore' };
    return { action: 'Count' };
  }
  return { action: 'Count' };
}
