import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { defaultTemplate, obj, validateReplicas, validateSelectorAndTemplate } from './workloads.ts';

/** apps/v1 StatefulSets as kube-apiserver: `SetDefaults_StatefulSet` and `ValidateStatefulSet`'s checks of the fields clients set. */
type Obj = Record<string, unknown>;

const policies = ['OrderedReady', 'Parallel'];
const retention = ['Retain', 'Delete'];

export const statefulSetStrategy: Strategy = {
  prepareForCreate(sts) {
    sts.status = { replicas: 0, availableReplicas: 0 };
  },
  defaults(sts) {
    const spec = obj(sts.spec);
    if (!spec) return;
    defaultTemplate(spec);
    spec.podManagementPolicy ??= 'OrderedReady';
    spec.revisionHistoryLimit ??= 10;
    const update = (obj(spec.updateStrategy) ?? (spec.updateStrategy = {})) as Obj;
    update.type ??= 'RollingUpdate';
    if (update.type === 'RollingUpdate') update.rollingUpdate ??= { partition: 0 };
    const pvcPolicy = (obj(spec.persistentVolumeClaimRetentionPolicy) ?? (spec.persistentVolumeClaimRetentionPolicy = {})) as Obj;
    pvcPolicy.whenDeleted ??= 'Retain';
    pvcPolicy.whenScaled ??= 'Retain';
    if (Array.isArray(spec.volumeClaimTemplates)) {
      for (const t of spec.volumeClaimTemplates) {
        const claim = obj(obj(t)?.spec);
        if (claim) claim.volumeMode ??= 'Filesystem';
        if (obj(t)) (t as Obj).status ??= { phase: 'Pending' };
      }
    }
  },
  validate(sts, old) {
    const spec = obj(sts.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateReplicas(spec, causes);
    validateSelectorAndTemplate(spec, causes, 'statefulset');
    if (!policies.includes(spec.podManagementPolicy as string)) causes.push(cause.unsupported('spec.podManagementPolicy', spec.podManagementPolicy, policies));
    const updateType = obj(spec.updateStrategy)?.type;
    if (!['RollingUpdate', 'OnDelete'].includes(updateType as string)) causes.push(cause.unsupported('spec.updateStrategy.type', updateType, ['OnDelete', 'RollingUpdate']));
    const pvcPolicy = obj(spec.persistentVolumeClaimRetentionPolicy) ?? {};
    for (const f of ['whenDeleted', 'whenScaled']) if (!retention.includes(pvcPolicy[f] as string)) causes.push(cause.unsupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, pvcPolicy[f], retention));
    const restart = obj(obj(spec.template)?.spec)?.restartPolicy;
    if (restart !== 'Always') causes.push(cause.unsupported('spec.template.spec.restartPolicy', restart, ['Always']));
    const oldSpec = obj(old?.spec);
    if (oldSpec) {
      // kube's ValidateStatefulSetUpdate: only these spec fields may change.
      const fixed = (s: Obj) => JSON.stringify({ ...s, replicas: 0, ordinals: 0, template: 0, updateStrategy: 0, persistentVolumeClaimRetentionPolicy: 0, minReadySeconds: 0, revisionHistoryLimit: 0 });
      if (fixed(spec) !== fixed(oldSpec)) causes.push(cause.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    }
    return causes;
  },
};
