import { isIPv4 } from 'node:net';
import type { Endpoint, ServicePort } from '../endpoints/proxy-state.ts';
import { categorizeEndpoints } from '../endpoints/topology.ts';
import { IPVS_FWD_MASQ, IPVS_SVC_F_PERSISTENT, IPVS_SVC_F_SCHED_SH_FALLBACK, IPVS_SVC_F_SCHED_SH_PORT, type Destination, type IpvsProtocol, type VirtualService } from '../netlink/ipvs.ts';

/**
 * What the kernel should hold for one service port, as kube-proxy's IPVS mode
 * programs it: a virtual server per address the service answers on (cluster
 * IPs, each NodePort address, external IPs, load balancer IPs) with a real
 * server per selected endpoint; the addresses bound to kube-ipvs0; ipset
 * entries for the iptables rules that do what IPVS does not (masquerade,
 * hairpin); and REJECT targets when the service has no endpoints at all.
 * Pure: a function of the service, its endpoints and the node's addresses.
 */

export interface VirtualServerSpec {
  readonly service: VirtualService;
  /** Keyed by `ip:port` (destKey). */
  readonly dests: ReadonlyMap<string, Destination>;
}

export interface RejectTarget {
  readonly protocol: IpvsProtocol;
  /** Undefined for a NodePort on every local address. */
  readonly address: string | undefined;
  readonly port: number;
}

/** Names of the ipsets the iptables rules match on (kube-proxy's, IPv4). */
export const SET = {
  clusterIP: 'KUBE-CLUSTER-IP',
  externalIP: 'KUBE-EXTERNAL-IP',
  externalIPLocal: 'KUBE-EXTERNAL-IP-LOCAL',
  loadBalancer: 'KUBE-LOAD-BALANCER',
  loadBalancerLocal: 'KUBE-LOAD-BALANCER-LOCAL',
  loopBack: 'KUBE-LOOP-BACK',
  nodePortTCP: 'KUBE-NODE-PORT-TCP',
  nodePortUDP: 'KUBE-NODE-PORT-UDP',
  nodePortLocalTCP: 'KUBE-NODE-PORT-LOCAL-TCP',
  nodePortLocalUDP: 'KUBE-NODE-PORT-LOCAL-UDP',
} as const;
export type SetName = (typeof SET)[keyof typeof SET];

export interface ServiceDesired {
  /** Keyed by vsKey. */
  readonly virtualServers: ReadonlyMap<string, VirtualServerSpec>;
  /** Addresses to bind on kube-ipvs0 (cluster, external and load balancer IPs). */
  readonly addresses: readonly string[];
  readonly setEntries: ReadonlyArray<readonly [SetName, string]>;
  readonly rejects: readonly RejectTarget[];
}

export interface DesiredOptions {
  readonly scheduler: string;
  /** Local addresses that accept NodePorts (already filtered by --nodeport-addresses). */
  readonly nodeIPs: readonly string[];
}

export const vsKey = (protocol: string, address: string, port: number): string => `${protocol}|${address}|${port}`;
export const destKey = (address: string, port: number): string => `${address}|${port}`;

const sameFamily = (a: string, b: string): boolean => isIPv4(a) === isIPv4(b);

function virtualService(svc: ServicePort, address: string, port: number, scheduler: string): VirtualService {
  let flags = 0;
  let timeout = 0;
  if (svc.sessionAffinity.type === 'ClientIP') {
    flags |= IPVS_SVC_F_PERSISTENT;
    timeout = svc.sessionAffinity.timeoutSeconds;
  }
  // kube-proxy: the maglev scheduler hashes on source port too, falling back when a server is gone.
  if (scheduler === 'mh') flags |= IPVS_SVC_F_SCHED_SH_FALLBACK | IPVS_SVC_F_SCHED_SH_PORT;
  return { protocol: svc.protocol, address, port, scheduler, flags, timeout, netmask: isIPv4(address) ? 0xffffffff : 128 };
}

function destinations(endpoints: readonly Endpoint[], family: string): Map<string, Destination> {
  const m = new Map<string, Destination>();
  for (const ep of endpoints) {
    if (!sameFamily(ep.ip, family)) continue;
    m.set(destKey(ep.ip, ep.port), { address: ep.ip, port: ep.port, weight: 1, forward: IPVS_FWD_MASQ, upperThreshold: 0, lowerThreshold: 0 });
  }
  return m;
}

/** serviceDesired computes everything one service port needs; headless services need nothing. */
export function serviceDesired(svc: ServicePort, endpoints: readonly Endpoint[], opts: DesiredOptions): ServiceDesired {
  const virtualServers = new Map<string, VirtualServerSpec>();
  const addresses: string[] = [];
  const setEntries: Array<readonly [SetName, string]> = [];
  const rejects: RejectTarget[] = [];
  if (svc.clusterIPs.length === 0) return { virtualServers, addresses, setEntries, rejects };

  const eps = categorizeEndpoints(svc, endpoints);
  // As kube-proxy's IPVS syncEndpoint: a Local policy with no local endpoint
  // falls back to the cluster-wide ones, so pods and the node still reach the
  // service's external addresses (kubernetes#97081); an outside client's
  // reply comes from the remote pod's address and is discarded.
  const byPolicy = (policy: string): readonly Endpoint[] => (policy === 'Local' && eps.local && eps.local.length > 0 ? eps.local : (eps.cluster ?? []));
  const internal = byPolicy(svc.internalTrafficPolicy);
  const external = byPolicy(svc.externalTrafficPolicy);
  const proto = svc.protocol.toLowerCase();
  const noEndpoints = !eps.hasAnyEndpoints;
  const add = (address: string, port: number, targets: readonly Endpoint[]) => {
    virtualServers.set(vsKey(svc.protocol, address, port), { service: virtualService(svc, address, port, opts.scheduler), dests: destinations(targets, address) });
  };
  const bound = (address: string, port: number, targets: readonly Endpoint[], set: SetName) => {
    add(address, port, targets);
    addresses.push(address);
    if (isIPv4(address)) setEntries.push([set, `${address},${proto}:${port}`]);
    if (noEndpoints) rejects.push({ protocol: svc.protocol, address, port });
  };

  for (const ip of svc.clusterIPs) bound(ip, svc.port, internal, SET.clusterIP);
  // externalTrafficPolicy Local keeps the client's address: its ports are also in the -LOCAL sets,
  // whose rules return before the masquerade mark (kube-proxy's ipvs layout).
  const local = svc.externalTrafficPolicy === 'Local';
  for (const ip of svc.externalIPs) {
    bound(ip, svc.port, external, SET.externalIP);
    if (local && isIPv4(ip)) setEntries.push([SET.externalIPLocal, `${ip},${proto}:${svc.port}`]);
  }
  for (const ip of svc.loadBalancerIPs) {
    bound(ip, svc.port, external, SET.loadBalancer);
    if (local && isIPv4(ip)) setEntries.push([SET.loadBalancerLocal, `${ip},${proto}:${svc.port}`]);
  }
  if (svc.nodePort > 0) {
    for (const ip of opts.nodeIPs) if (sameFamily(ip, svc.clusterIPs[0]!)) add(ip, svc.nodePort, external);
    if (svc.protocol === 'TCP') setEntries.push([SET.nodePortTCP, String(svc.nodePort)]);
    if (svc.protocol === 'UDP') setEntries.push([SET.nodePortUDP, String(svc.nodePort)]);
    if (local && svc.protocol === 'TCP') setEntries.push([SET.nodePortLocalTCP, String(svc.nodePort)]);
    if (local && svc.protocol === 'UDP') setEntries.push([SET.nodePortLocalUDP, String(svc.nodePort)]);
    if (noEndpoints) rejects.push({ protocol: svc.protocol, address: undefined, port: svc.nodePort });
  }
  // Hairpin: a local endpoint reaching its own service is masqueraded (KUBE-LOOP-BACK).
  for (const ep of eps.allReachable) {
    if (ep.isLocal && isIPv4(ep.ip)) setEntries.push([SET.loopBack, `${ep.ip},${proto}:${ep.port},${ep.ip}`]);
  }
  return { virtualServers, addresses, setEntries, rejects };
}
