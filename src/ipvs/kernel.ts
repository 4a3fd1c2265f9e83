import type { ConntrackDeletion } from '../endpoints/conntrack.ts';
import { runConntrackDeletions } from '../endpoints/conntrack.ts';
import { IpvsNetlink } from '../netlink/ipvs.ts';
import { RouteNetlink } from '../netlink/rtnl.ts';
import type { Request } from '../netlink/socket.ts';
import type { IpvsOp } from './diff.ts';
import { applySysctls } from './host.ts';
import { destroyKubeSets, ipsetRestore } from './ipset.ts';
import type { IpvsProbeOps } from './can-use.ts';
import { execFile } from '../util/exec.ts';

/**
 * What the IPVS proxier asks of the node: IPVS and rtnetlink (the parts of
 * Ferry's bindings it uses), ipset, sysctls and conntrack. The real ones by
 * default; unit tests give fakes, as IPVS is not in every kernel.
 */
export type IpvsOps = Pick<IpvsNetlink, 'setTimeouts' | 'listServices' | 'listDestinations' | 'apply' | 'flush' | 'close' | 'newService' | 'setService' | 'delService' | 'newDest' | 'setDest' | 'delDest'>;
export type RouteOps = Pick<RouteNetlink, 'linkIndex' | 'createDummyLink' | 'listAddresses' | 'applyAddresses' | 'deleteLink' | 'close'>;

/** DUMMY_LINK is the dummy link the IPVS mode binds service addresses to, as kube-proxy's. */
export const DUMMY_LINK = 'kube-ipvs0';

export interface IpvsHost {
  readonly openIpvs: () => Promise<IpvsOps>;
  readonly openRoute: () => RouteOps;
  readonly ipsetRestore: (text: string) => Promise<void>;
  readonly applySysctls: () => Promise<void>;
  readonly conntrack: (deletions: readonly ConntrackDeletion[]) => Promise<Error[]>;
  /** destroySets removes every KUBE- ipset (cleanup). */
  readonly destroySets: () => Promise<void>;
  /** `ipset --version` output (`ipset v7.17, protocol version: 7`). */
  readonly ipsetVersion: () => Promise<string>;
}

export const REAL_HOST: IpvsHost = {
  openIpvs: () => IpvsNetlink.open(),
  openRoute: () => RouteNetlink.open(),
  ipsetRestore,
  applySysctls,
  conntrack: runConntrackDeletions,
  destroySets: destroyKubeSets,
  ipsetVersion: async () => (await execFile('ipset', ['--version'], { timeoutMs: 10_000 })).stdout,
};

/** probeOps gives canUseIpvs the virtual server calls it needs, one netlink request each. */
export function probeOps(ipvs: IpvsOps): IpvsProbeOps {
  const run = async (r: Request) => {
    const [err] = await ipvs.apply([r]);
    if (err) throw err;
  };
  return { listServices: () => ipvs.listServices(), addService: (s) => run(ipvs.newService(s)), deleteService: (s) => run(ipvs.delService(s)) };
}

/** request turns an operation into its netlink request. */
export function request(ipvs: IpvsOps, op: IpvsOp): Request {
  switch (op.kind) {
    case 'newService':
      return ipvs.newService(op.service);
    case 'setService':
      return ipvs.setService(op.service);
    case 'delService':
      return ipvs.delService(op.service);
    case 'newDest':
      return ipvs.newDest(op.service, op.dest);
    case 'setDest':
      return ipvs.setDest(op.service, op.dest);
    case 'delDest':
      return ipvs.delDest(op.service, op.dest);
  }
}
