import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { defaultPodSpec, obj, validateSelectorAndTemplate } from './workloads.ts';

/** apps/v1 DaemonSets as kube-apiserver: `SetDefaults_DaemonSet`, selector and template, restartPolicy Always, immutable selector. */
type Obj = Record<string, unknown>;

export const daemonSetStrategy: Strategy = {
  prepareForCreate(ds) {
    ds.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
  defaults(ds) {
    const spec = obj(ds.spec);
    if (!spec) return;
    const podSpec = obj(obj(spec.template)?.spec);
    if (podSpec) defaultPodSpec(podSpec);
    spec.revisionHistoryLimit ??= 10;
    const update = (obj(spec.updateStrategy) ?? (spec.updateStrategy = {})) as Obj;
    update.type ??= 'RollingUpdate';
    if (update.type === 'RollingUpdate') {
      const rolling = (obj(update.rollingUpdate) ?? (update.rollingUpdate = {})) as Obj;
      rolling.maxUnavailable ??= 1;
      rolling.maxSurge ??= 0;
    }
  },
  validate(ds, old) {
    const spec = obj(ds.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateSelectorAndTemplate(spec, causes, 'daemonset');
    const restart = obj(obj(spec.template)?.spec)?.restartPolicy;
    if (restart !== 'Always') causes.push(cause.unsupported('spec.template.spec.restartPolicy', restart, ['Always']));
    const updateType = obj(spec.updateStrategy)?.type;
    if (!['RollingUpdate', 'OnDelete'].includes(updateType as string)) causes.push(cause.unsupported('spec.updateStrategy.type', updateType, ['OnDelete', 'RollingUpdate']));
    const oldSelector = obj(old?.spec)?.selector;
    if (old && JSON.stringify(spec.selector) !== JSON.stringify(oldSelector)) causes.push(cause.invalid('spec.selector', spec.selector, 'field is immutable'));
    return causes;
  },
};
