import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';

/**
 * The Deployment's Available and Progressing conditions as
 * kube-controller-manager sets them (`pkg/controller/deployment/progress.go`,
 * `sync.go` calculateStatus, `util/deployment_util.go`): Progressing is
 * refreshed whenever the rollout makes progress, turns False with
 * ProgressDeadlineExceeded when none was made for progressDeadlineSeconds,
 * and is NewReplicaSetAvailable once complete; `kubectl rollout status`
 * fails on the deadline reason.
 */

export const REASON_NEW_RS_CREATED = 'NewReplicaSetCreated';
export const REASON_FOUND_NEW_RS = 'FoundNewReplicaSet';
export const REASON_RS_UPDATED = 'ReplicaSetUpdated';
export const REASON_NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const REASON_TIMED_OUT = 'ProgressDeadlineExceeded';
export const REASON_PAUSED = 'DeploymentPaused';
export const REASON_RESUMED = 'DeploymentResumed';

type Status = 'True' | 'False' | 'Unknown';

const stampOf = (now: Date) => now.toISOString().replace(/\.\d+Z$/, 'Z');

/** setCondition is kube's SetDeploymentCondition: same status and reason change nothing; same status keeps lastTransitionTime. */
function setCondition(conditions: DeploymentCondition[], c: DeploymentCondition): DeploymentCondition[] {
  const cur = conditions.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return conditions;
  const next = cur && cur.status === c.status ? { ...c, lastTransitionTime: cur.lastTransitionTime } : c;
  return [...conditions.filter((x) => x.type !== c.type), next];
}

function make(type: string, status: Status, reason: string, message: string, now: Date): DeploymentCondition {
  const at = stampOf(now);
  return { type, status, reason, message, lastUpdateTime: at, lastTransitionTime: at };
}

const hasDeadline = (d: Deployment) => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;

/** deploymentComplete: every replica updated and available, and the spec observed. */
function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = d.spec?.replicas ?? 1;
  return s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** deploymentProgressing: more updated, ready or available replicas, or fewer old ones, than the last status. */
function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** timedOut: no progress recorded for progressDeadlineSeconds. */
function timedOut(d: Deployment, cond: DeploymentCondition | undefined, now: Date): boolean {
  if (!cond || cond.reason === REASON_NEW_RS_AVAILABLE) return false;
  if (cond.reason === REASON_TIMED_OUT) return true;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  return Number.isFinite(from) && now.getTime() > from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
}

export interface ConditionInput {
  d: Deployment;
  newRS: ReplicaSet | undefined;
  /** Name of the ReplicaSet this sync creates, if any. */
  created?: string | undefined;
  status: DeploymentStatus;
  maxUnavailable: number;
  now: Date;
}

/** deploymentConditions computes the conditions one sync leaves on the Deployment. */
export function deploymentConditions({ d, newRS, created, status, maxUnavailable, now }: ConditionInput): DeploymentCondition[] {
  let conds = [...(d.status?.conditions ?? [])];
  const desired = d.spec?.replicas ?? 1;
  conds = setCondition(conds, (status.availableReplicas ?? 0) >= desired - maxUnavailable
    ? make('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now)
    : make('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now));
  const current = () => conds.find((c) => c.type === 'Progressing');
  if (d.spec?.paused) {
    if (current()?.reason !== REASON_PAUSED) conds = setCondition(conds, make('Progressing', 'Unknown', REASON_PAUSED, 'Deployment is paused', now));
    return conds;
  }
  if (current()?.reason === REASON_PAUSED) conds = setCondition(conds, make('Progressing', 'Unknown', REASON_RESUMED, 'Deployment is resumed', now));
  if (!hasDeadline(d)) return conds;
  const name = created ?? newRS?.metadata?.name;
  if (created) conds = setCondition(conds, make('Progressing', 'True', REASON_NEW_RS_CREATED, `Created new replica set "${created}"`, now));
  else if (newRS && !current()) conds = setCondition(conds, make('Progressing', 'True', REASON_FOUND_NEW_RS, `Found new replica set "${newRS.metadata?.name}"`, now));
  const cur = current();
  const complete = status.replicas === status.updatedReplicas && cur?.reason === REASON_NEW_RS_AVAILABLE;
  if (complete || created) return conds;
  const what = name ? `ReplicaSet "${name}"` : `Deployment "${d.metadata?.name}"`;
  if (deploymentComplete(d, status)) {
    conds = setCondition(conds, make('Progressing', 'True', REASON_NEW_RS_AVAILABLE, `${what} has successfully progressed.`, now));
  } else if (deploymentProgressing(d, status)) {
    // Progress refreshes lastUpdateTime even with the same reason: it is what the deadline counts from.
    const c = make('Progressing', 'True', REASON_RS_UPDATED, `${what} is progressing.`, now);
    if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
    conds = [...conds.filter((x) => x.type !== 'Progressing'), c];
  } else if (timedOut(d, cur, now)) {
    conds = setCondition(conds, make('Progressing', 'False', REASON_TIMED_OUT, `${what} has timed out progressing.`, now));
  }
  return conds;
}

/** recheckAfterMs is when the deadline of a rollout still in progress expires (kube's requeueStuckDeployment), if it can. */
export function recheckAfterMs(d: Deployment, conditions: readonly DeploymentCondition[], now: Date): number | undefined {
  const cond = conditions.find((c) => c.type === 'Progressing');
  if (!hasDeadline(d) || d.spec?.paused || !cond || cond.reason === REASON_NEW_RS_AVAILABLE || cond.reason === REASON_TIMED_OUT) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  if (!Number.isFinite(from)) return undefined;
  return Math.max(0, from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 - now.getTime()) + 1000;
}
