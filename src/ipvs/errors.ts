import { FerryError } from '../util/errors.ts';
import type { NetlinkError } from '../netlink/errors.ts';

/** IpvsSyncError is a sync in which the kernel refused some IPVS or address operations; the next sync is a full one. */
export class IpvsSyncError extends FerryError {
  readonly errors: readonly NetlinkError[];

  constructor(errors: readonly NetlinkError[]) {
    super('FERRY_ERR_IPVS_SYNC', `${errors.length} IPVS/address operations failed; first: ${errors[0]?.message}`);
    this.name = 'IpvsSyncError';
    this.errors = errors;
  }
}
