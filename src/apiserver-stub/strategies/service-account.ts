import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';

/** ServiceAccounts: references to secrets and image pull secrets must name them (`ValidateServiceAccount`). */
function validateReferences(list: unknown, field: string, causes: StatusCause[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((ref, i) => {
    const name = obj(ref)?.name;
    if (typeof name !== 'string' || name === '') causes.push(cause.required(`${field}[${i}].name`));
  });
}

export const serviceAccountStrategy: Strategy = {
  validate(sa) {
    const causes: StatusCause[] = [];
    validateReferences(sa.secrets, 'secrets', causes);
    validateReferences(sa.imagePullSecrets, 'imagePullSecrets', causes);
    return causes;
  },
};
