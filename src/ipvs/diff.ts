import { IPVS_SVC_F_HASHED, type Destination, type ServiceKey, type VirtualService } from '../netlink/ipvs.ts';
import { destKey, type VirtualServerSpec } from './desired.ts';

/**
 * The minimal IPVS operations that turn what the kernel holds into what is
 * desired, per virtual server. Pure; the proxier applies them in one batch.
 * A real server that is no longer desired is not deleted at once: its weight
 * goes to 0 (graceful termination) so established connections finish, and
 * the termination tracker deletes it once it is idle or its time is up.
 */
export type IpvsOp =
  | { readonly kind: 'newService' | 'setService'; readonly service: VirtualService }
  | { readonly kind: 'delService'; readonly service: ServiceKey }
  | { readonly kind: 'newDest' | 'setDest'; readonly service: ServiceKey; readonly dest: Destination; readonly terminating?: boolean }
  | { readonly kind: 'delDest'; readonly service: ServiceKey; readonly dest: Pick<Destination, 'address' | 'port'> };

/** KernelVirtualServer is a virtual server as the kernel holds it (from a dump, then kept up to date). */
export interface KernelVirtualServer {
  service: VirtualService;
  dests: Map<string, Destination>;
}

export const sameSettings = (a: VirtualService, b: VirtualService): boolean =>
  a.scheduler === b.scheduler && (a.flags & ~IPVS_SVC_F_HASHED) === (b.flags & ~IPVS_SVC_F_HASHED) && a.timeout === b.timeout && a.netmask === b.netmask;

const sameDest = (a: Destination, b: Destination): boolean =>
  a.weight === b.weight && a.forward === b.forward && a.upperThreshold === b.upperThreshold && a.lowerThreshold === b.lowerThreshold;

/**
 * diffVirtualServer lists the operations for one virtual server. A stale
 * destination already at weight 0 needs nothing (it is terminating).
 */
export function diffVirtualServer(desired: VirtualServerSpec | undefined, kernel: KernelVirtualServer | undefined): IpvsOp[] {
  if (!desired) return kernel ? [{ kind: 'delService', service: kernel.service }] : [];
  const ops: IpvsOp[] = [];
  const svc = desired.service;
  if (!kernel) ops.push({ kind: 'newService', service: svc });
  else if (!sameSettings(kernel.service, svc)) ops.push({ kind: 'setService', service: svc });
  for (const [key, dest] of desired.dests) {
    const have = kernel?.dests.get(key);
    if (!have) ops.push({ kind: 'newDest', service: svc, dest });
    else if (!sameDest(have, dest)) ops.push({ kind: 'setDest', service: svc, dest });
  }
  if (kernel) {
    for (const [key, have] of kernel.dests) {
      if (desired.dests.has(key) || have.weight === 0) continue;
      ops.push({ kind: 'setDest', service: svc, dest: { ...have, weight: 0 }, terminating: true });
    }
  }
  return ops;
}

/** applyOp updates a kernel model after the kernel accepted an operation. */
export function applyOp(model: Map<string, KernelVirtualServer>, key: string, op: IpvsOp): void {
  switch (op.kind) {
    case 'newService':
      model.set(key, { service: op.service, dests: new Map() });
      return;
    case 'setService': {
      const vs = model.get(key);
      if (vs) vs.service = op.service;
      return;
    }
    case 'delService':
      model.delete(key);
      return;
    case 'newDest':
    case 'setDest':
      model.get(key)?.dests.set(destKey(op.dest.address, op.dest.port), op.dest);
      return;
    case 'delDest':
      model.get(key)?.dests.delete(destKey(op.dest.address, op.dest.port));
  }
}
