import { isIPv4 } from 'node:net';
import type { Endpoint, ServicePort } from '../endpoints/proxy-state.ts';
import { cidrsOfFamily, inAnyCIDR } from '../endpoints/node-port-addresses.ts';
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

/**
 * The ipsets the iptables rules match on, by kube-proxy's IPv4 names; each
 * IP family's proxier has its own sets (ipset.ts names the IPv6 ones).
 * A service port's entries are of its cluster IP's family, as its proxier's.
 */
export const SET = {
  clusterIP: 'KUBE-CLUSTER-IP',
  externalIP: 'KUBE-EXTERNAL-IP',
  externalIPLocal: 'KUBE-EXTERNAL-IP-LOCAL',
  loadBalancer: 'KUBE-LOAD-BALANCER',
  loadBalancerLocal: 'KUBE-LOAD-BALANCER-LOCAL',
  loadBalancerFW: 'KUBE-LOAD-BALANCER-FW',
  loadBalancerSourceIP: 'KUBE-LOAD-BALANCER-SOURCE-IP',
  loadBalancerSourceCIDR: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
  loopBack: 'KUBE-LOOP-BACK',
  nodePortTCP: 'KUBE-NODE-PORT-TCP',
  nodePortUDP: 'KUBE-NODE-PORT-UDP',
  nodePortSCTP: 'KUBE-NODE-PORT-SCTP-HASH',
  nodePortLocalTCP: 'KUBE-NODE-PORT-LOCAL-TCP',
  nodePortLocalUDP: 'KUBE-NODE-PORT-LOCAL-UDP',
  nodePortLocalSCTP: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
  healthCheckNodePort: 'KUBE-HEALTH-CHECK-NODE-PORT',
  ipvsIPs: 'KUBE-IPVS-IPS',
} as const;
export type SetName = (typeof SET)[keyof typeof SET];

/** The virtual address + port + protocol of a load balancer IP the node itself must not reach (its source ranges leave the node out). */
export interface NoNodeAccess {
  readonly address: string;
  readonly protocol: string;
  readonly port: number;
}

export interface ServiceDesired {
  /** Keyed by vsKey. */
  readonly virtualServers: ReadonlyMap<string, VirtualServerSpec>;
  /** Addresses to bind on kube-ipvs0 (cluster IPs; external and load balancer IPs that are not host addresses). */
  readonly addresses: readonly string[];
  readonly setEntries: ReadonlyArray<readonly [SetName, string]>;
  readonly rejects: readonly RejectTarget[];
  readonly noNodeAccess: readonly NoNodeAccess[];
}

export interface DesiredOptions {
  readonly scheduler: string;
  /** Local addresses that accept NodePorts (already filtered by --nodeport-addresses). */
  readonly nodeIPs: readonly string[];
  /** The node's primary IP: a load balancer whose source ranges hold it stays reachable from the node. */
  readonly primaryNodeIP?: string;
  /** Every host address off kube-ipvs0: an external or load balancer IP among them is not bound to kube-ipvs0. */
  readonly hostAddresses?: ReadonlySet<string>;
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
  const noNodeAccess: NoNodeAccess[] = [];
  const out = { virtualServers, addresses, setEntries, rejects, noNodeAccess };
  if (svc.clusterIPs.length === 0) return out;

  const eps = categorizeEndpoints(svc, endpoints);
  // As kube-proxy's IPVS syncEndpoint: a Local policy with no local endpoint
  // falls back to the cluster-wide ones, so pods and the node still reach the
  // service's external addresses (kubernetes#97081); an outside client's
  // reply comes from the remote pod's address and is discarded.
  const byPolicy = (policy: string): readonly Endpoint[] => (policy === 'Local' && eps.local && eps.local.length > 0 ? eps.local : (eps.cluster ?? []));
  const internal = byPolicy(svc.internalTrafficPolicy);
  const external = byPolicy(svc.externalTrafficPolicy);
  const proto = svc.protocol.toLowerCase();
  const ipPort = (ip: string) => `${ip},${proto}:${svc.port}`;
  const add = (address: string, port: number, targets: readonly Endpoint[]) => {
    virtualServers.set(vsKey(svc.protocol, address, port), { service: virtualService(svc, address, port, opts.scheduler), dests: destinations(targets, address) });
  };
  // Ferry's REJECT for a service without endpoints: per service address, and once for the node port on every local address.
  const reject = (address: string | undefined, port: number) => !eps.hasAnyEndpoints && rejects.push({ protocol: svc.protocol, address, port });
  // kube-proxy binds a cluster IP always, an external or load balancer IP only when no host interface has it.
  const bind = (address: string, always: boolean) => {
    if (!always && opts.hostAddresses?.has(address)) return;
    addresses.push(address);
    setEntries.push([SET.ipvsIPs, address]);
  };
  const entry = (set: SetName, value: string) => setEntries.push([set, value]);

  for (const ip of svc.clusterIPs) {
    add(ip, svc.port, internal);
    reject(ip, svc.port);
    bind(ip, true);
    entry(SET.clusterIP, ipPort(ip));
  }
  // externalTrafficPolicy Local keeps the client's address: its external IPs
  // go in the -LOCAL set only, whose rules accept without the masquerade mark.
  const local = svc.externalTrafficPolicy === 'Local';
  for (const ip of svc.externalIPs) {
    add(ip, svc.port, external);
    reject(ip, svc.port);
    bind(ip, false);
    entry(local ? SET.externalIPLocal : SET.externalIP, ipPort(ip));
  }
  for (const ip of svc.loadBalancerIPs) {
    add(ip, svc.port, external);
    reject(ip, svc.port);
    bind(ip, false);
    loadBalancerEntries(svc, ip, local, opts.primaryNodeIP, out);
  }
  const nodeIPs = opts.nodeIPs.filter((ip) => sameFamily(ip, svc.clusterIPs[0]!));
  // As kube-proxy: without a NodePort address the node port gets no virtual server and no set entry.
  if (svc.nodePort > 0 && nodeIPs.length > 0) {
    for (const ip of nodeIPs) add(ip, svc.nodePort, external);
    reject(undefined, svc.nodePort);
    nodePortEntries(svc, nodeIPs, local, setEntries);
  }
  if (svc.healthCheckNodePort > 0) entry(SET.healthCheckNodePort, String(svc.healthCheckNodePort));
  // Hairpin: a local endpoint reaching its own service is masqueraded (KUBE-LOOP-BACK).
  // As kube-proxy, every local endpoint gets its entry, ready or not: one may be chosen again before the next sync.
  const loopBack = new Set(endpoints.filter((ep) => ep.isLocal && sameFamily(ep.ip, svc.clusterIPs[0]!)).map((ep) => `${ep.ip},${proto}:${ep.port},${ep.ip}`));
  for (const e of loopBack) entry(SET.loopBack, e);
  return out;
}

/**
 * loadBalancerEntries: the load balancer set (and -LOCAL for a Local
 * policy); with source ranges, the firewall set, one source CIDR entry per
 * range, and either the node's own access (its primary IP in a range) or a
 * drop for traffic from the node, as kube-proxy's IPVS mode does.
 */
function loadBalancerEntries(svc: ServicePort, ip: string, local: boolean, primaryNodeIP: string | undefined, out: { setEntries: Array<readonly [SetName, string]>; noNodeAccess: NoNodeAccess[] }): void {
  const proto = svc.protocol.toLowerCase();
  const ipPort = `${ip},${proto}:${svc.port}`;
  out.setEntries.push([SET.loadBalancer, ipPort]);
  if (local) out.setEntries.push([SET.loadBalancerLocal, ipPort]);
  const ranges = cidrsOfFamily(isIPv4(ip) ? 4 : 6, svc.loadBalancerSourceRanges);
  if (ranges.length === 0) return;
  out.setEntries.push([SET.loadBalancerFW, ipPort]);
  for (const cidr of ranges) out.setEntries.push([SET.loadBalancerSourceCIDR, `${ipPort},${cidr}`]);
  if (primaryNodeIP !== undefined && sameFamily(primaryNodeIP, ip) && inAnyCIDR(primaryNodeIP, ranges)) out.setEntries.push([SET.loadBalancerSourceIP, `${ipPort},${ip}`]);
  else out.noNodeAccess.push({ address: ip, protocol: proto, port: svc.port });
}

/** nodePortEntries: TCP and UDP node ports are bitmap:port entries; SCTP ones are ip,port per NodePort address. */
function nodePortEntries(svc: ServicePort, nodeIPs: readonly string[], local: boolean, setEntries: Array<readonly [SetName, string]>): void {
  const sets: Record<ServicePort['protocol'], readonly [SetName, SetName]> = {
    TCP: [SET.nodePortTCP, SET.nodePortLocalTCP],
    UDP: [SET.nodePortUDP, SET.nodePortLocalUDP],
    SCTP: [SET.nodePortSCTP, SET.nodePortLocalSCTP],
  };
  const [set, localSet] = sets[svc.protocol];
  const values = svc.protocol === 'SCTP' ? nodeIPs.map((ip) => `${ip},sctp:${svc.nodePort}`) : [String(svc.nodePort)];
  for (const v of values) setEntries.push([set, v]);
  if (local) for (const v of values) setEntries.push([localSet, v]);
}
