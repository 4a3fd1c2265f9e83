import { inAnyCIDR, type IPFamily } from '../endpoints/node-port-addresses.ts';
import type { Endpoint, ServicePort } from '../endpoints/proxy-state.ts';
import { categorizeEndpoints, externallyAccessible } from '../endpoints/topology.ts';
import { endpointChain, serviceChains, type ServiceChains } from './chain-names.ts';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  LOCALHOST_NODEPORTS_COUNTER,
} from './fixed-chains.ts';
import { comment, protoMatch } from './rule-buffer.ts';

/** RenderOptions are the node- and flag-derived inputs of rendering. */
export interface RenderOptions {
  /** The family of the tables written (iptables or ip6tables); undefined: 4. */
  readonly ipFamily?: IPFamily;
  /** `--cluster-cidr`; the first CIDR is the local-traffic detector (`! -s cidr`); empty: none. */
  readonly clusterCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  /** The masquerade mark, e.g. `0x4000`. */
  readonly masqueradeMark: string;
  /** Local IPs that accept NodePorts, or 'all' (`-m addrtype --dst-type LOCAL`). */
  readonly nodePortIPs: readonly string[] | 'all';
  /** This node's IPs, to let the node reach its own load balancer IPs through KUBE-FW. */
  readonly nodeIPs: readonly string[];
  /**
   * NodePorts answer on 127.0.0.1 (`--iptables-localhost-nodeports` and a
   * `--nodeport-addresses` that holds it): KUBE-FIREWALL blocks other
   * localnet traffic. False: `! -d 127.0.0.0/8` keeps loopback out of KUBE-NODEPORTS.
   * Never true for IPv6 (no route_localnet there: NodePorts never answer on ::1).
   */
  readonly localhostNodePorts: boolean;
  /** MASQUERADE with `--random-fully` (iptables ≥ 1.6.2, host-features.ts). */
  readonly randomFully: boolean;
  /** nf_conntrack_tcp_be_liberal is set: INVALID packets are not dropped in KUBE-FORWARD. */
  readonly conntrackTCPLiberal: boolean;
  /** nfacct objects the proxier found usable at start: rules count into these (`-m nfacct`); none when absent. */
  readonly nfacctCounters?: ReadonlySet<string>;
}

/**
 * LARGE_CLUSTER_ENDPOINTS is kube-proxy's largeClusterEndpointsThreshold:
 * with more endpoints than this, the per-endpoint rules go without comments,
 * favouring iptables' speed over the dump's readability.
 */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

/**
 * ServiceFragment is everything one service port contributes to a restore.
 * It depends only on the service, its endpoints and the options, so a
 * partial sync reuses the fragments of unchanged services as they are.
 */
export interface ServiceFragment {
  /** Whole `-A` lines for the filter table's fixed chains. */
  readonly filterRules: readonly string[];
  /** Whole `-A` lines for nat KUBE-SERVICES and KUBE-NODEPORTS. */
  readonly natDispatch: readonly string[];
  /** The service's own nat chains (KUBE-SVC/SVL/EXT/FW/SEP) it uses. */
  readonly chains: readonly string[];
  /** Whole `-A` lines of those chains. */
  readonly chainRules: readonly string[];
}

/** FragmentWriter collects one service's lines, routing nat lines by chain. */
class FragmentWriter implements ServiceFragment {
  readonly options: RenderOptions;
  readonly largeCluster: boolean;
  readonly filterRules: string[] = [];
  readonly natDispatch: string[] = [];
  readonly chains: string[] = [];
  readonly chainRules: string[] = [];

  constructor(options: RenderOptions, largeCluster: boolean) {
    this.options = options;
    this.largeCluster = largeCluster;
  }

  /** endpointComment is the comment of KUBE-SVC → KUBE-SEP and KUBE-SEP rules, left out in large-cluster mode. */
  endpointComment(text: string): string[] {
    return this.largeCluster ? [] : comment(text);
  }

  filter(chain: string, ...args: readonly string[]): void {
    this.filterRules.push(['-A', chain, ...args].join(' '));
  }

  nat(chain: string, ...args: readonly string[]): void {
    const line = ['-A', chain, ...args].join(' ');
    (chain === KUBE_SERVICES || chain === KUBE_NODEPORTS ? this.natDispatch : this.chainRules).push(line);
  }

  declare(chain: string): void {
    this.chains.push(chain);
  }
}

/** nfacctMatch counts a rule's packets into an nfacct object when the proxier has it (`-m nfacct` fails without one). */
export function nfacctMatch(options: RenderOptions, counter: string): string[] {
  return options.nfacctCounters?.has(counter) ? ['-m', 'nfacct', '--nfacct-name', counter] : [];
}

/** probability is kube-proxy's `%0.10f` of 1/n. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** epString is kube-proxy's endpoint string (net.JoinHostPort): `ip:port`, `[ip]:port` for IPv6; SEP chain names hash it. */
const epString = (ep: Endpoint) => (ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`);

/**
 * renderService renders one service port's dispatch rules (KUBE-SERVICES,
 * KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES, KUBE-PROXY-FIREWALL) and its own
 * KUBE-SVC/SVL/EXT/FW/SEP chains, following kube-proxy v1.28 syncProxyRules.
 */
export function renderService(options: RenderOptions, svc: ServicePort, endpoints: readonly Endpoint[], largeCluster = false): ServiceFragment {
  const w = new FragmentWriter(options, largeCluster);
  const name = svc.key;
  const chains = serviceChains(svc.key, svc.protocol);
  const proto = protoMatch(svc.protocol);
  const cat = categorizeEndpoints(svc, endpoints);
  const clusterEps = cat.cluster ?? [];
  const localEps = cat.local ?? [];
  const hasEndpoints = cat.hasAnyEndpoints;
  const usesClusterChain = clusterEps.length > 0 && cat.cluster !== undefined;
  const usesLocalChain = localEps.length > 0 && cat.local !== undefined;

  const internalLocal = svc.internalTrafficPolicy === 'Local';
  const externalLocal = svc.externalTrafficPolicy === 'Local' && externallyAccessible(svc);
  const internalChain = internalLocal ? chains.local : chains.cluster;
  const hasInternalEndpoints = internalLocal ? localEps.length > 0 && hasEndpoints : hasEndpoints;
  const externalPolicyChain = externalLocal ? chains.local : chains.cluster;
  const hasExternalEndpoints = externalLocal ? localEps.length > 0 && hasEndpoints : hasEndpoints;
  // As kube-proxy asks "endpoints anywhere?", not "on this node?": with eTP
  // Local and only remote endpoints, KUBE-EXT still short-circuits pods and
  // the node itself to KUBE-SVC; only outside clients fall through to the
  // "has no local endpoints" DROP in KUBE-EXTERNAL-SERVICES.
  const usesExternalChain = hasEndpoints && externallyAccessible(svc);
  const usesFwChain = hasEndpoints && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  const lbTarget = usesFwChain ? chains.firewall : chains.external;

  const noEndpoints = (local: boolean) =>
    !hasEndpoints ? { target: 'REJECT', text: `${name} has no endpoints` } : local ? { target: 'DROP', text: `${name} has no local endpoints` } : undefined;
  const internalFilter = noEndpoints(internalLocal);
  const externalFilter = hasExternalEndpoints ? undefined : noEndpoints(externalLocal);

  // Cluster IPs.
  for (const ip of svc.clusterIPs) {
    const match = [...proto, '-d', ip, '--dport', String(svc.port)];
    if (hasInternalEndpoints) {
      w.nat(KUBE_SERVICES, ...comment(`${name} cluster IP`), ...match, '-j', internalChain);
      writeClusterIPMasquerade(w, internalChain, name, match);
    } else if (internalFilter) {
      w.filter(KUBE_SERVICES, ...comment(internalFilter.text), ...match, '-j', internalFilter.target);
    }
  }

  // External IPs.
  for (const ip of svc.externalIPs) {
    const match = [...proto, '-d', ip, '--dport', String(svc.port)];
    if (hasEndpoints) w.nat(KUBE_SERVICES, ...comment(`${name} external IP`), ...match, '-j', chains.external);
    if (externalFilter) w.filter(KUBE_EXTERNAL_SERVICES, ...comment(externalFilter.text), ...match, '-j', externalFilter.target);
  }

  // Load balancer ingress IPs.
  for (const ip of svc.loadBalancerIPs) {
    const match = [...proto, '-d', ip, '--dport', String(svc.port)];
    if (hasEndpoints) w.nat(KUBE_SERVICES, ...comment(`${name} loadbalancer IP`), ...match, '-j', lbTarget);
    if (externalFilter) w.filter(KUBE_EXTERNAL_SERVICES, ...comment(externalFilter.text), ...match, '-j', externalFilter.target);
    if (usesFwChain) w.filter(KUBE_PROXY_FIREWALL, ...comment(`${name} traffic not accepted by ${chains.firewall}`), ...match, '-j', 'DROP');
  }

  // Node port.
  if (svc.nodePort > 0) {
    const portMatch = [...proto, '--dport', String(svc.nodePort)];
    const countLocalhost = nfacctMatch(options, LOCALHOST_NODEPORTS_COUNTER);
    if (hasEndpoints && options.localhostNodePorts && countLocalhost.length > 0) {
      // Only counts: the same jump as the next rule, for packets to 127.0.0.0/8.
      w.nat(KUBE_NODEPORTS, ...comment(name), ...proto, '-d', '127.0.0.0/8', '--dport', String(svc.nodePort), ...countLocalhost, '-j', chains.external);
    }
    if (hasEndpoints) w.nat(KUBE_NODEPORTS, ...comment(name), ...portMatch, '-j', chains.external);
    if (externalFilter) {
      w.filter(KUBE_EXTERNAL_SERVICES, ...comment(externalFilter.text), '-m', 'addrtype', '--dst-type', 'LOCAL', ...portMatch, '-j', externalFilter.target);
    }
  }

  // Health check node port: accept it in filter (kube-proxy opens it whatever the endpoints).
  if (svc.healthCheckNodePort > 0) {
    w.filter(KUBE_NODEPORTS, ...comment(`${name} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(svc.healthCheckNodePort), '-j', 'ACCEPT');
  }

  if (usesExternalChain) writeExternalChain(w, svc, chains, hasExternalEndpoints ? externalPolicyChain : undefined, externalLocal);
  if (usesFwChain) writeFirewallChain(w, svc, chains.firewall, chains.external);
  if (usesClusterChain) writeServiceToEndpoints(w, svc, chains.cluster, clusterEps);
  if (usesLocalChain) writeServiceToEndpoints(w, svc, chains.local, localEps);
  for (const ep of cat.allReachable) writeEndpointChain(w, svc, endpointChain(svc.key, svc.protocol, epString(ep)), ep);
  return w;
}

function writeClusterIPMasquerade(w: FragmentWriter, chain: string, name: string, match: readonly string[]): void {
  const { options } = w;
  if (options.masqueradeAll) w.nat(chain, ...comment(`${name} cluster IP`), ...match, '-j', KUBE_MARK_MASQ);
  else if (options.clusterCIDRs.length > 0) {
    // Off-cluster traffic to a service VIP is masqueraded so replies come back through this node.
    w.nat(chain, ...comment(`${name} cluster IP`), ...match, '!', '-s', options.clusterCIDRs[0]!, '-j', KUBE_MARK_MASQ);
  }
}

/**
 * writeExternalChain writes KUBE-EXT: masquerade (eTP Cluster) or the
 * short-circuits of pods and the node (eTP Local), then a jump to the policy
 * chain when external traffic has endpoints (`policyChain` undefined: none,
 * so outside clients fall through to KUBE-EXTERNAL-SERVICES' DROP).
 */
function writeExternalChain(w: FragmentWriter, svc: ServicePort, chains: ServiceChains, policyChain: string | undefined, local: boolean): void {
  const { options } = w;
  const name = svc.key;
  const chain = chains.external;
  w.declare(chain);
  if (!local) {
    w.nat(chain, ...comment(`masquerade traffic for ${name} external destinations`), '-j', KUBE_MARK_MASQ);
  } else {
    // Pods and the node itself short-circuit to the cluster-wide chain: they
    // would otherwise be dropped on nodes without local endpoints.
    if (options.clusterCIDRs.length > 0) {
      w.nat(chain, ...comment(`pod traffic for ${name} external destinations`), '-s', options.clusterCIDRs[0]!, '-j', chains.cluster);
    }
    w.nat(chain, ...comment(`masquerade LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
    w.nat(chain, ...comment(`route LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', chains.cluster);
  }
  if (policyChain) w.nat(chain, '-j', policyChain);
}

function writeFirewallChain(w: FragmentWriter, svc: ServicePort, chain: string, externalChain: string): void {
  const { options } = w;
  const name = svc.key;
  w.declare(chain);
  let allowFromNode = false;
  for (const cidr of svc.loadBalancerSourceRanges) {
    w.nat(chain, ...comment(`${name} loadbalancer IP`), '-s', cidr, '-j', externalChain);
    if (options.nodeIPs.some((ip) => inAnyCIDR(ip, [cidr]))) allowFromNode = true;
  }
  // A node reaching its own load balancer VIP loops back with the VIP as source.
  if (allowFromNode) for (const ip of svc.loadBalancerIPs) w.nat(chain, ...comment(`${name} loadbalancer IP`), '-s', ip, '-j', externalChain);
  w.nat(chain, ...comment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`));
}

function writeServiceToEndpoints(w: FragmentWriter, svc: ServicePort, chain: string, endpoints: readonly Endpoint[]): void {
  w.declare(chain);
  const seps = endpoints.map((ep) => ({ ep, sep: endpointChain(svc.key, svc.protocol, epString(ep)) }));
  if (svc.sessionAffinity.type === 'ClientIP') {
    const seconds = String(svc.sessionAffinity.timeoutSeconds);
    for (const { ep, sep } of seps) {
      w.nat(chain, ...w.endpointComment(`${svc.key} -> ${epString(ep)}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', seconds, '--reap', '-j', sep);
    }
  }
  seps.forEach(({ ep, sep }, i) => {
    const stat = i < seps.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(seps.length - i)] : [];
    w.nat(chain, ...w.endpointComment(`${svc.key} -> ${epString(ep)}`), ...stat, '-j', sep);
  });
}

function writeEndpointChain(w: FragmentWriter, svc: ServicePort, chain: string, ep: Endpoint): void {
  w.declare(chain);
  // Hairpin: a pod reaching itself through the service must be SNATed, or it would answer itself directly.
  w.nat(chain, ...w.endpointComment(svc.key), '-s', ep.ip, '-j', KUBE_MARK_MASQ);
  const affinity = svc.sessionAffinity.type === 'ClientIP' ? ['-m', 'recent', '--name', chain, '--set'] : [];
  w.nat(chain, ...w.endpointComment(svc.key), ...affinity, ...protoMatch(svc.protocol), '-j', 'DNAT', '--to-destination', epString(ep));
}
