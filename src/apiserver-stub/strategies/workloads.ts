import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { fromLabelSelector, matchesLabels, LabelSelectorParseError } from '../../kube/labels.ts';
import { isDNS1123Label } from '../../kube/names.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { asRecord as obj } from '../../util/records.ts';

export { obj };

/** Pods, Deployments and ReplicaSets: the defaults and checks the controllers and kubectl rely on. */
type Obj = Record<string, unknown>;

export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      const container = obj(c);
      if (!container) continue;
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      if (container.imagePullPolicy === undefined) {
        const image = typeof container.image === 'string' ? container.image : '';
        container.imagePullPolicy = image.endsWith(':latest') || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent';
      }
      container.resources ??= {};
      for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(obj(container[key]));
      if (Array.isArray(container.ports)) for (const p of container.ports) if (obj(p)) (p as Obj).protocol ??= 'TCP';
    }
  }
}

/** defaultProbe fills a probe's timings as kube does (SetDefaults_Probe), and a grpc probe's service with "" (kubectl describe reads it). */
function defaultProbe(probe: Obj | undefined): void {
  if (!probe) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  const grpc = obj(probe.grpc);
  if (grpc) grpc.service ??= '';
}

export function validatePodSpec(spec: unknown, field: string, causes: StatusCause[]): void {
  const s = obj(spec);
  if (!s) return void causes.push(cause.required(field));
  if (!Array.isArray(s.containers) || s.containers.length === 0) return void causes.push(cause.required(`${field}.containers`));
  const names = new Set<string>();
  s.containers.forEach((c, i) => {
    const f = `${field}.containers[${i}]`;
    const container = obj(c);
    if (!container) return void causes.push(cause.invalid(f, c, 'must be an object'));
    if (typeof container.name !== 'string' || container.name === '') causes.push(cause.required(`${f}.name`));
    else {
      for (const e of isDNS1123Label(container.name)) causes.push(cause.invalid(`${f}.name`, container.name, e));
      if (names.has(container.name)) causes.push(cause.duplicate(`${f}.name`, container.name));
      names.add(container.name);
    }
    if (typeof container.image !== 'string' || container.image.trim() === '') causes.push(cause.required(`${f}.image`));
  });
}

/**
 * podGracePeriod is kube's pod graceful deletion: a pod bound to a node and
 * not finished waits for its node agent (the request's gracePeriodSeconds, else
 * spec.terminationGracePeriodSeconds, else 30); others go at once.
 */
function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = obj(pod.spec) ?? {};
  const phase = obj(pod.status)?.phase;
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '' || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  const configured = spec.terminationGracePeriodSeconds;
  return typeof configured === 'number' && configured >= 0 ? configured : 30;
}

export const podStrategy: Strategy = {
  gracePeriod: podGracePeriod,
  prepareForCreate(pod) {
    pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
  },
  defaults(pod) {
    const spec = obj(pod.spec);
    if (spec) defaultPodSpec(spec);
  },
  validate(pod, old) {
    const causes: StatusCause[] = [];
    validatePodSpec(pod.spec, 'spec', causes);
    const oldNode = obj(old?.spec)?.nodeName;
    const node = obj(pod.spec)?.nodeName;
    if (old && oldNode !== undefined && oldNode !== '' && node !== oldNode) causes.push(cause.forbidden('spec.nodeName', 'pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`'));
    return causes;
  },
};

/** validateSelectorAndTemplate: the selector is required, valid, and selects the template's labels. */
export function validateSelectorAndTemplate(spec: Obj, causes: StatusCause[], kind = 'deployment'): void {
  const selector = obj(spec.selector);
  const template = obj(spec.template);
  if (!selector) causes.push(cause.required('spec.selector'));
  if (!template) return void causes.push(cause.required('spec.template'));
  const labels = obj(obj(template.metadata)?.labels) as Record<string, string> | undefined;
  validatePodSpec(template.spec, 'spec.template.spec', causes);
  if (!selector) return;
  try {
    const reqs = fromLabelSelector(selector);
    if (reqs.length === 0) causes.push(cause.invalid('spec.selector', selector, `empty selector is invalid for ${kind}`));
    else if (!matchesLabels(reqs, labels)) causes.push(cause.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
  } catch (error) {
    if (!(error instanceof LabelSelectorParseError)) throw error;
    causes.push(cause.invalid('spec.selector', selector, error.message));
  }
}

export function validateReplicas(spec: Obj, causes: StatusCause[]): void {
  if (!Number.isInteger(spec.replicas) || (spec.replicas as number) < 0) causes.push(cause.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
}

export function defaultTemplate(spec: Obj): void {
  spec.replicas ??= 1;
  const podSpec = obj(obj(spec.template)?.spec);
  if (podSpec) defaultPodSpec(podSpec);
}

export const deploymentStrategy: Strategy = {
  prepareForCreate(d) {
    d.status = {};
  },
  defaults(d) {
    const spec = obj(d.spec);
    if (!spec) return;
    defaultTemplate(spec);
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    const strategy = (obj(spec.strategy) ?? (spec.strategy = {})) as Obj;
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
  },
  validate(d) {
    const spec = obj(d.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateReplicas(spec, causes);
    validateSelectorAndTemplate(spec, causes);
    return causes;
  },
};

export const replicaSetStrategy: Strategy = {
  prepareForCreate(rs) {
    rs.status = { replicas: 0 };
  },
  defaults(rs) {
    const spec = obj(rs.spec);
    if (spec) defaultTemplate(spec);
  },
  validate(rs) {
    const spec = obj(rs.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateReplicas(spec, causes);
    validateSelectorAndTemplate(spec, causes);
    return causes;
  },
};

/** replicasOf reads spec.replicas for the scale subresource. */
export function replicasOf(o: KubeObject): number {
  const r = obj(o.spec)?.replicas;
  return typeof r === 'number' ? r : 1;
}
