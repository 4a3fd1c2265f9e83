import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { cachedDefinitions } from '../openapi/definitions.ts';

/**
 * Revisions of a Deployment as kube-controller-manager keeps them
 * (`pkg/controller/deployment/util/deployment_util.go`, `sync.go`): the
 * revision annotation on the Deployment and its ReplicaSets (the set a
 * rollback brings back takes the next revision, its old ones listed in
 * revision-history), the Deployment's annotations copied onto its new set
 * (`kubernetes.io/change-cause` for `rollout history`), the replica
 * annotations, and the clean-up of old sets past `revisionHistoryLimit`.
 */
export const ANNOTATION_REVISION = 'deployment.kubernetes.io/revision';
export const ANNOTATION_REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const ANNOTATION_DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const ANNOTATION_MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

/** Annotations kube never copies from a Deployment to its ReplicaSets (`skipCopyAnnotation`). */
const notCopied = new Set(['kubectl.kubernetes.io/last-applied-configuration', ANNOTATION_REVISION, ANNOTATION_REVISION_HISTORY, ANNOTATION_DESIRED_REPLICAS, ANNOTATION_MAX_REPLICAS]);

type Json = unknown;
type Schema = Record<string, unknown>;

/**
 * normalizeTemplate drops what a typed decode makes equal to absent: null
 * fields (`creationTimestamp: null` from a Go client), empty lists, and empty
 * maps (`annotations: {}`); kube compares and hashes typed templates, so
 * these never make two templates differ there. Empty structs (`emptyDir: {}`)
 * mean something and stay; the schema tells maps from structs.
 */
export function normalizeTemplate(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const definitions = cachedDefinitions('', 'v1');
  const walk = (value: Json, schema: Schema | undefined): Json => {
    let s = schema;
    while (s && typeof s.$ref === 'string') s = definitions[s.$ref.slice(s.$ref.lastIndexOf('/') + 1)];
    if (Array.isArray(value)) return value.map((v) => walk(v, s?.items as Schema | undefined));
    if (value === null || typeof value !== 'object') return value;
    const props = s?.properties as Record<string, Schema> | undefined;
    const additional = s?.additionalProperties as Schema | undefined;
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = props?.[k] ?? additional;
      const w = walk(v, child);
      if (w === null || w === undefined || (Array.isArray(w) && w.length === 0)) continue;
      const childSchema = child && typeof child.$ref !== 'string' ? child : undefined;
      if (childSchema?.additionalProperties && typeof w === 'object' && Object.keys(w).length === 0) continue;
      out[k] = w;
    }
    return out;
  };
  return walk(template ?? {}, { $ref: '#/definitions/io.k8s.api.core.v1.PodTemplateSpec' }) as PodTemplateSpec;
}

export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  return Number(obj.metadata?.annotations?.[ANNOTATION_REVISION] ?? 0) || 0;
}

/**
 * replicaSetAnnotations is what the new ReplicaSet's annotations should be
 * (kube's SetNewReplicaSetAnnotations and SetReplicasAnnotations): the
 * Deployment's copied, the next revision when it is behind (with the one it
 * had kept in revision-history), and the desired and max replicas.
 */
export function replicaSetAnnotations(d: Deployment, rs: ReplicaSet | undefined, nextRevision: number, maxSurge: number): Record<string, string> {
  const out: Record<string, string> = { ...rs?.metadata?.annotations };
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (!notCopied.has(k)) out[k] = v;
  const current = rs ? revisionOf(rs) : 0;
  if (current < nextRevision) {
    out[ANNOTATION_REVISION] = String(nextRevision);
    if (current > 0) {
      const history = out[ANNOTATION_REVISION_HISTORY];
      out[ANNOTATION_REVISION_HISTORY] = history ? `${history},${current}` : String(current);
    }
  }
  const replicas = d.spec?.replicas ?? 1;
  out[ANNOTATION_DESIRED_REPLICAS] = String(replicas);
  out[ANNOTATION_MAX_REPLICAS] = String(replicas + maxSurge);
  return out;
}

/** nextRevision is one past the highest revision among the old sets (kube's MaxRevision + 1). */
export function nextRevision(old: readonly ReplicaSet[]): number {
  return Math.max(0, ...old.map(revisionOf)) + 1;
}

/**
 * setsToCleanUp lists the old ReplicaSets past `revisionHistoryLimit`
 * (default 10): of the sets not being deleted, the `count − limit` oldest by
 * revision, skipping any that still has replicas wanted or running (kube's
 * cleanupDeployment).
 */
export function setsToCleanUp(d: Deployment, old: readonly ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec?.revisionHistoryLimit ?? 10;
  const alive = old.filter((rs) => rs.metadata?.deletionTimestamp === undefined);
  const excess = alive.length - limit;
  if (excess <= 0) return [];
  return [...alive]
    .sort((a, b) => revisionOf(a) - revisionOf(b))
    .slice(0, excess)
    .filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0 && (rs.metadata?.generation ?? 0) <= (rs.status?.observedGeneration ?? 0));
}
