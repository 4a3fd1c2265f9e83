import { FerryError } from '../../util/errors.ts';

/** LabError is a lab-level failure: a component that did not come up, a lab that does not exist. */
export class LabError extends FerryError {
  constructor(code: 'FERRY_ERR_LAB_EXISTS' | 'FERRY_ERR_LAB_NOT_FOUND' | 'FERRY_ERR_LAB_START' | 'FERRY_ERR_LAB_POD' | 'FERRY_ERR_LAB_GUEST' | 'FERRY_ERR_LAB_RULES', message: string) {
    super(code, message);
    this.name = 'LabError';
  }
}
