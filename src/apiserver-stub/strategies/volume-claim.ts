import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { parseQuantity } from '../scheduler/resources.ts';
import { obj } from './workloads.ts';

/**
 * PersistentVolumeClaims, stored without a provisioner: `SetDefaults_PersistentVolumeClaimSpec`,
 * the access modes and storage request kube requires, and a spec that only
 * grows its request after creation.
 */
type Obj = Record<string, unknown>;

export const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const volumeModes = ['Block', 'Filesystem'];

/** validateAccessModes checks a claim's or a volume's access modes. */
export function validateAccessModes(modes: unknown, field: string, causes: StatusCause[]): void {
  if (!Array.isArray(modes) || modes.length === 0) return void causes.push(cause.required(field, 'Required value: at least 1 access mode is required'));
  modes.forEach((m, i) => {
    if (!accessModes.includes(m as string)) causes.push(cause.unsupported(`${field}[${i}]`, m, accessModes));
  });
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) causes.push(cause.forbidden(field, 'may not use ReadWriteOncePod with other access modes'));
}

/** validateStorage checks a quantity such as `1Gi` at field; `required` demands one. */
export function validateStorage(value: unknown, field: string, causes: StatusCause[]): void {
  if (value === undefined || value === null || value === '') return void causes.push(cause.required(field));
  let amount = NaN;
  try {
    amount = parseQuantity(value as string | number);
  } catch {
    return void causes.push(cause.invalid(field, value, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  }
  if (!(amount > 0)) causes.push(cause.invalid(field, value, 'must be greater than zero'));
}

export const persistentVolumeClaimStrategy: Strategy = {
  prepareForCreate(pvc) {
    pvc.status = { phase: 'Pending' };
  },
  defaults(pvc) {
    const spec = obj(pvc.spec);
    if (spec) spec.volumeMode ??= 'Filesystem';
  },
  validate(pvc, old) {
    const spec = obj(pvc.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    validateAccessModes(spec.accessModes, 'spec.accessModes', causes);
    validateStorage(obj(obj(spec.resources)?.requests)?.storage, 'spec.resources[storage]', causes);
    if (!volumeModes.includes(spec.volumeMode as string)) causes.push(cause.unsupported('spec.volumeMode', spec.volumeMode, volumeModes));
    const oldSpec = obj(old?.spec);
    if (oldSpec) {
      // Only the storage request (and a volumeName not bound yet) may change, as kube's ValidatePersistentVolumeClaimUpdate.
      const fixed = (s: Obj) => JSON.stringify({ ...s, resources: 0, volumeName: 0, volumeAttributesClassName: 0 });
      if (fixed(spec) !== fixed(oldSpec)) causes.push(cause.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
    }
    return causes;
  },
};
