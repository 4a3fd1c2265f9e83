import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { defaultPodSpec, obj, validatePodSpec, validateReplicas } from './workloads.ts';

/**
 * core/v1 ReplicationControllers as kube-apiserver: an empty selector and
 * empty labels default to the template's labels (`SetDefaults_ReplicationController`),
 * the map selector must select the template, restartPolicy Always.
 */
type Obj = Record<string, unknown>;

export const replicationControllerStrategy: Strategy = {
  prepareForCreate(rc) {
    rc.status = { replicas: 0 };
  },
  defaults(rc) {
    const spec = obj(rc.spec);
    if (!spec) return;
    spec.replicas ??= 1;
    const template = obj(spec.template);
    const labels = obj(obj(template?.metadata)?.labels);
    if (labels && Object.keys(labels).length > 0) {
      if (!obj(spec.selector) || Object.keys(spec.selector as Obj).length === 0) spec.selector = { ...labels };
      const m = rc.metadata!;
      if (!m.labels || Object.keys(m.labels).length === 0) m.labels = { ...(labels as Record<string, string>) };
    }
    const podSpec = obj(template?.spec);
    if (podSpec) defaultPodSpec(podSpec);
  },
  validate(rc) {
    const spec = obj(rc.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateReplicas(spec, causes);
    const selector = obj(spec.selector) ?? {};
    if (Object.keys(selector).length === 0) causes.push(cause.required('spec.selector'));
    const template = obj(spec.template);
    if (!template) return [...causes, cause.required('spec.template')];
    const labels = obj(obj(template.metadata)?.labels) ?? {};
    if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) causes.push(cause.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    validatePodSpec(template.spec, 'spec.template.spec', causes);
    const restart = obj(template.spec)?.restartPolicy;
    if (restart !== 'Always') causes.push(cause.unsupported('spec.template.spec.restartPolicy', restart, ['Always']));
    return causes;
  },
};
