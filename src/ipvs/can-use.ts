import { FerryError } from '../util/errors.ts';
import type { ServiceKey, VirtualService } from '../netlink/ipvs.ts';
import { versionAtLeast } from '../util/version.ts';

/** IpvsUnusableError: this node cannot run the IPVS mode (kube-proxy refuses to start then). */
export class IpvsUnusableError extends FerryError {
  constructor(message: string, cause?: unknown) {
    super('FERRY_ERR_IPVS_UNUSABLE', `can't use the IPVS proxier: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'IpvsUnusableError';
  }
}

/** MIN_IPSET_VERSION is kube-proxy's MinIPSetCheckVersion (IPv6 support came with ipset 6). */
export const MIN_IPSET_VERSION = [6, 0] as const;

/** What the check needs of IPVS. */
export interface IpvsProbeOps {
  listServices(): Promise<ReadonlyArray<Pick<VirtualService, 'scheduler'>>>;
  addService(s: VirtualService): Promise<void>;
  deleteService(s: ServiceKey): Promise<void>;
}

/**
 * The probe virtual server: an address of TEST-NET-2 (RFC 5737), reserved
 * for documentation, so no real service can be there (kube-proxy's choice).
 */
export const PROBE_SERVICE: Omit<VirtualService, 'scheduler'> = { protocol: 'TCP', address: '198.51.100.0', port: 20000, flags: 0, timeout: 0, netmask: 0xffffffff };

/**
 * canUseIpvs is kube-proxy's CanUseIPVSProxier: ipset must be 6.0 or newer,
 * and the kernel must take a virtual server with the configured scheduler;
 * an existing one with that scheduler proves it (a restart), else a probe
 * virtual server is added, read back and deleted. Throws IpvsUnusableError.
 */
export async function canUseIpvs(ipvs: IpvsProbeOps, ipsetVersion: () => Promise<string>, scheduler: string): Promise<void> {
  let version: string;
  try {
    version = await ipsetVersion();
  } catch (e) {
    throw new IpvsUnusableError(`error getting ipset version: ${(e as Error).message}`, e);
  }
  if (!versionAtLeast(version, MIN_IPSET_VERSION)) throw new IpvsUnusableError(`ipset version ${version.trim()} is less than the required ${MIN_IPSET_VERSION.join('.')}`);
  const wanted = scheduler || 'rr';
  const ask = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw new IpvsUnusableError(`${what}: ${(e as Error).message}`, e);
    }
  };
  if ((await ask('reading the IPVS virtual servers', () => ipvs.listServices())).some((s) => s.scheduler === wanted)) return;
  const probe = { ...PROBE_SERVICE, scheduler: wanted };
  await ask(`adding a virtual server with scheduler ${wanted}`, () => ipvs.addService(probe));
  if ((await ask('reading the IPVS virtual servers', () => ipvs.listServices())).length === 0) throw new IpvsUnusableError('IPVS is not supported (the probe virtual server did not appear)');
  await ask('deleting the probe virtual server', () => ipvs.deleteService(probe));
}
