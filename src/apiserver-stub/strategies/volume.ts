import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';
import { validateAccessModes, validateStorage } from './volume-claim.ts';

/**
 * PersistentVolumes, stored as kube-apiserver stores them (no provisioner
 * or binder runs: a new volume stays Pending): defaults, capacity, access
 * modes, and exactly one volume source.
 */
const sources = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc', 'flocker', 'flexVolume',
  'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'local', 'storageos', 'csi',
];
const reclaimPolicies = ['Delete', 'Recycle', 'Retain'];

export const persistentVolumeStrategy: Strategy = {
  prepareForCreate(pv) {
    pv.status = { phase: 'Pending', lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  },
  defaults(pv) {
    const spec = obj(pv.spec);
    if (!spec) return;
    spec.persistentVolumeReclaimPolicy ??= 'Retain';
    spec.volumeMode ??= 'Filesystem';
    const hostPath = obj(spec.hostPath);
    if (hostPath) hostPath.type ??= '';
  },
  validate(pv) {
    const spec = obj(pv.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateAccessModes(spec.accessModes, 'spec.accessModes', causes);
    validateStorage(obj(spec.capacity)?.storage, 'spec.capacity[storage]', causes);
    if (!reclaimPolicies.includes(spec.persistentVolumeReclaimPolicy as string)) causes.push(cause.unsupported('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, reclaimPolicies));
    const set = sources.filter((s) => spec[s] !== undefined && spec[s] !== null);
    if (set.length === 0) causes.push(cause.required('spec', 'Required value: must specify a volume type'));
    else if (set.length > 1) causes.push(cause.forbidden(`spec.${set[1]}`, 'may not specify more than 1 volume type'));
    const hostPath = obj(spec.hostPath);
    if (hostPath && (typeof hostPath.path !== 'string' || hostPath.path === '')) causes.push(cause.required('spec.hostPath.path'));
    if (spec.local !== undefined && !obj(spec.nodeAffinity)) causes.push(cause.required('spec.nodeAffinity', 'Required value: Local volume requires node affinity'));
    return causes;
  },
};
