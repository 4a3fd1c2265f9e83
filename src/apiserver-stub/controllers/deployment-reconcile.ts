import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { InvalidArgumentError } from '../../util/errors.ts';
import { canonicalJSON } from './canonical.ts';
import { deploymentConditions } from './deployment-conditions.ts';
import { ANNOTATION_REVISION, nextRevision, normalizeTemplate, replicaSetAnnotations, revisionOf, setsToCleanUp } from './deployment-revisions.ts';

/**
 * The Deployment controller's reconcile math as pure functions
 * (kube-controller-manager `pkg/controller/deployment`: `sync.go`,
 * `rolling.go`, `recreate.go`, `util/deployment_util.go`): the pod template
 * hash, which ReplicaSet is the new one, how far a rolling update may scale
 * the new set up (maxSurge) and the old ones down (maxUnavailable), and the
 * status `kubectl rollout status` reads.
 */

export const LABEL_POD_TEMPLATE_HASH = 'pod-template-hash';
export { ANNOTATION_REVISION };

/**
 * DeploymentPlan is what one sync writes: `scale` holds sets whose
 * spec.replicas must change, `annotate` the new set's annotations when they
 * must change (revision, change-cause), `revision` the Deployment's revision
 * annotation when it must change, `cleanUp` old sets past revisionHistoryLimit.
 */
export interface DeploymentPlan {
  createReplicaSet?: ReplicaSet;
  scale: Array<{ rs: ReplicaSet; replicas: number }>;
  annotate?: { rs: ReplicaSet; annotations: Record<string, string> };
  revision?: string;
  cleanUp: ReplicaSet[];
  status: DeploymentStatus;
}

// kube's rand.SafeEncodeString alphabet: no vowels, no 0/1/3, so hashes never spell words.
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** podTemplateHash is fnv32a over the normalised template (and collision count), encoded as kube encodes it. */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const text = canonicalJSON(normalizeTemplate(template)) + (collisionCount > 0 ? String(collisionCount) : '');
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const t = normalizeTemplate(structuredClone(template ?? {}));
  if (t.metadata?.labels) delete t.metadata.labels[LABEL_POD_TEMPLATE_HASH];
  return t;
}

/** templatesEqualIgnoringHash is kube's EqualIgnoreHash. */
export function templatesEqualIgnoringHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalJSON(withoutHash(a)) === canonicalJSON(withoutHash(b));
}

/** resolveFenceposts turns maxSurge/maxUnavailable (ints or percents) into counts: surge rounds up, unavailable down; never both 0. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge ?? '25%', replicas, true, 'maxSurge');
  const unavailable = scaledValue(ru?.maxUnavailable ?? '25%', replicas, false, 'maxUnavailable');
  if (surge === 0 && unavailable === 0) return { maxSurge: 0, maxUnavailable: 1 };
  return { maxSurge: surge, maxUnavailable: unavailable };
}

function scaledValue(v: number | string, total: number, roundUp: boolean, field: string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new InvalidArgumentError(`invalid ${field} ${JSON.stringify(v)}: want an integer or a percentage`);
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

const specReplicas = (rs: ReplicaSet) => rs.spec?.replicas ?? 0;
const rsCreated = (rs: ReplicaSet) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0;

/** newReplicaSetFor builds the ReplicaSet of the deployment's current template, with the Deployment's annotations copied. */
export function newReplicaSetFor(d: Deployment, hash: string, replicas: number, revision: number): ReplicaSet {
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [LABEL_POD_TEMPLATE_HASH]: hash } };
  const name = d.metadata?.name ?? '';
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace: d.metadata?.namespace,
      labels: { ...template.metadata.labels },
      annotations: replicaSetAnnotations(d, undefined, revision, d.spec?.strategy?.type === 'Recreate' ? 0 : resolveFenceposts(d).maxSurge),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      minReadySeconds: d.spec?.minReadySeconds ?? 0,
      selector: { ...d.spec?.selector, matchLabels: { ...d.spec?.selector?.matchLabels, [LABEL_POD_TEMPLATE_HASH]: hash } },
      template,
    },
  };
}

/** planDeployment decides one sync of a Deployment over the ReplicaSets it owns. */
export function planDeployment(d: Deployment, owned: readonly ReplicaSet[], now: Date): DeploymentPlan {
  const desired = d.spec?.replicas ?? 1;
  const newRS = owned.find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
  const old = owned.filter((rs) => rs !== newRS).sort((a, b) => rsCreated(a) - rsCreated(b));
  const plan: DeploymentPlan = { scale: [], cleanUp: setsToCleanUp(d, old), status: deploymentStatus(d, newRS, owned, now) };
  const recreate = d.spec?.strategy?.type === 'Recreate';
  const paused = d.spec?.paused === true;
  let newReplicas = newRS ? specReplicas(newRS) : 0;
  if (!paused) {
    if (recreate) {
      for (const rs of old) if (specReplicas(rs) > 0) plan.scale.push({ rs, replicas: 0 });
      const oldRunning = old.some((rs) => (rs.status?.replicas ?? 0) > 0);
      newReplicas = oldRunning ? newReplicas : desired;
    } else {
      newReplicas = rollingNewReplicas(d, newRS, old, desired);
      plan.scale.push(...rollingOldScaleDown(d, newRS, old, desired));
    }
  }
  const revision = nextRevision(old);
  if (!newRS) {
    const hash = podTemplateHash(d.spec?.template ?? {}, d.status?.collisionCount ?? 0);
    plan.createReplicaSet = newReplicaSetFor(d, hash, newReplicas, revision);
    plan.status = deploymentStatus(d, undefined, owned, now, plan.createReplicaSet.metadata?.name);
  } else {
    if (newReplicas !== specReplicas(newRS)) plan.scale.push({ rs: newRS, replicas: newReplicas });
    const annotations = replicaSetAnnotations(d, newRS, revision, recreate ? 0 : resolveFenceposts(d).maxSurge);
    if (canonicalJSON(annotations) !== canonicalJSON(newRS.metadata?.annotations ?? {})) plan.annotate = { rs: newRS, annotations };
  }
  const deploymentRevision = String(Math.max(revision, newRS ? revisionOf(newRS) : 0));
  if (d.metadata?.annotations?.[ANNOTATION_REVISION] !== deploymentRevision) plan.revision = deploymentRevision;
  return plan;
}

/** rollingNewReplicas is kube's NewRSNewReplicas: scale the new set up within replicas + maxSurge. */
function rollingNewReplicas(d: Deployment, newRS: ReplicaSet | undefined, old: readonly ReplicaSet[], desired: number): number {
  const current = newRS ? specReplicas(newRS) : 0;
  if (current > desired) return desired;
  if (old.every((rs) => specReplicas(rs) === 0)) return desired;
  const { maxSurge } = resolveFenceposts(d);
  const total = current + old.reduce((n, rs) => n + specReplicas(rs), 0);
  const room = desired + maxSurge - total;
  if (room <= 0) return current;
  return current + Math.min(room, desired - current);
}

/**
 * rollingOldScaleDown is kube's reconcileOldReplicaSets: first drop old pods
 * that are not available anyway (they cost no availability), then scale old
 * sets down oldest first while at least replicas − maxUnavailable stay available.
 */
function rollingOldScaleDown(d: Deployment, newRS: ReplicaSet | undefined, old: readonly ReplicaSet[], desired: number): Array<{ rs: ReplicaSet; replicas: number }> {
  const oldTotal = old.reduce((n, rs) => n + specReplicas(rs), 0);
  if (oldTotal === 0) return [];
  const { maxUnavailable } = resolveFenceposts(d);
  const minAvailable = desired - maxUnavailable;
  const all = oldTotal + (newRS ? specReplicas(newRS) : 0);
  const newUnavailable = newRS ? specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0) : 0;
  let budget = all - minAvailable - newUnavailable;
  const target = new Map(old.map((rs) => [rs, specReplicas(rs)]));
  for (const rs of old) {
    if (budget <= 0) break;
    const unhealthy = Math.max(0, specReplicas(rs) - (rs.status?.availableReplicas ?? 0));
    const cut = Math.min(unhealthy, budget);
    target.set(rs, target.get(rs)! - cut);
    budget -= cut;
  }
  const available = old.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0) + (newRS?.status?.availableReplicas ?? 0);
  let allowed = available - minAvailable;
  for (const rs of old) {
    if (allowed <= 0) break;
    const cut = Math.min(target.get(rs)!, allowed);
    target.set(rs, target.get(rs)! - cut);
    allowed -= cut;
  }
  return old.filter((rs) => target.get(rs) !== specReplicas(rs)).map((rs) => ({ rs, replicas: target.get(rs)! }));
}

/** deploymentStatus sums the sets' status and sets the Available and Progressing conditions; `created` names a set this sync creates. */
export function deploymentStatus(d: Deployment, newRS: ReplicaSet | undefined, owned: readonly ReplicaSet[], now: Date, created?: string): DeploymentStatus {
  const desired = d.spec?.replicas ?? 1;
  const sum = (f: (rs: ReplicaSet) => number | undefined) => owned.reduce((n, rs) => n + (f(rs) ?? 0), 0);
  const available = sum((rs) => rs.status?.availableReplicas);
  const { maxUnavailable } = d.spec?.strategy?.type === 'Recreate' ? { maxUnavailable: 0 } : resolveFenceposts(d);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: sum((rs) => rs.status?.replicas),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available),
    ...(d.status?.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
  };
  return { ...status, conditions: deploymentConditions({ d, newRS, created, status, maxUnavailable, now }) };
}
