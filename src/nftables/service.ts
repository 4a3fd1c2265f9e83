import { createHash } from 'node:crypto';
import type { Endpoint, ServicePort } from '../endpoints/proxy-state.ts';
import { categorizeEndpoints, externallyAccessible } from '../endpoints/topology.ts';
import { base32 } from '../util/base32.ts';
import { endpointMap, nftFamily, nftProtocol, nodePortEndpointMap, REJECT_CHAIN, SETS, type LayoutOptions, type NftProtocol } from './layout.ts';
import { sharedChainName, type SharedChain } from './shared-chains.ts';
import { familyOf, inAnyCIDR } from '../endpoints/node-port-addresses.ts';

/** RenderOptions are the layout's options plus this node's addresses. */
export interface RenderOptions extends LayoutOptions {
  /** This node's addresses of the table's family: LB source ranges that hold one let the node reach its own LB IPs. */
  readonly nodeIPs: readonly string[];
}

/** Element is one element of a named set or map, in nft syntax: `key` or `key : value`. */
export interface Element {
  readonly set: string;
  readonly key: string;
  readonly value?: string;
}

/** OwnChain is a chain of one service's own (ClientIP affinity only), with its rules' bodies. */
export interface OwnChain {
  readonly name: string;
  readonly rules: readonly string[];
}

/** OwnSet is a set of one service's own: the dynamic client set of one affinity endpoint. */
export interface OwnSet {
  readonly name: string;
  /** What goes between the braces of `add set`. */
  readonly spec: string;
}

/** ServiceObjects is everything one service port puts in the table. */
export interface ServiceObjects {
  readonly elements: readonly Element[];
  readonly shared: readonly SharedChain[];
  readonly chains: readonly OwnChain[];
  readonly sets: readonly OwnSet[];
}

/** The endpoints each kind of traffic reaches, after traffic policies. */
interface Plan {
  readonly svc: ServicePort;
  readonly p: NftProtocol;
  readonly internal: readonly Endpoint[];
  readonly cluster: readonly Endpoint[];
  readonly local: readonly Endpoint[];
  readonly internalLocal: boolean;
  readonly externalLocal: boolean;
  readonly hasAny: boolean;
}

const epText = (ep: Endpoint) => `${ep.ip} . ${ep.port}`;
const byAddress = (a: Endpoint, b: Endpoint) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1);

/**
 * renderServicePort computes what one service port puts in the table. Without
 * affinity that is only elements: its addresses in `service-ips` (and node
 * port in `service-nodeports`) pointing at the shared chain for its endpoint
 * count, and its endpoints in the endpoint maps under slots 0..N-1 in address
 * order. With ClientIP affinity it gets chains and sets of its own, as
 * kube-proxy's, since each endpoint needs its own set of recent clients.
 */
export function renderServicePort(svc: ServicePort, endpoints: readonly Endpoint[], o: RenderOptions): ServiceObjects {
  const cat = categorizeEndpoints(svc, endpoints);
  const cluster = [...(cat.cluster ?? [])].sort(byAddress);
  const local = [...(cat.local ?? [])].sort(byAddress);
  const internalLocal = svc.internalTrafficPolicy === 'Local';
  const plan: Plan = {
    svc, p: nftProtocol(svc.protocol), cluster, local, internalLocal, hasAny: cat.hasAnyEndpoints,
    internal: internalLocal ? local : cluster,
    externalLocal: svc.externalTrafficPolicy === 'Local' && externallyAccessible(svc),
  };
  const out = { elements: [] as Element[], shared: [] as SharedChain[], chains: [] as OwnChain[], sets: [] as OwnSet[] };
  const targets = svc.sessionAffinity.type === 'ClientIP' ? affinityTargets(plan, out, o) : flatTargets(plan, out);
  writeDispatch(plan, targets, out);
  writeFirewall(svc, plan.p, o, out.elements);
  // Only a pod on this node can reach itself through this node's rules.
  for (const ep of cat.allReachable) if (ep.isLocal) out.elements.push({ set: SETS.hairpin, key: `${ep.ip} . ${ep.ip}` });
  return out;
}

/** Targets are the verdicts of the service's dispatch elements; undefined: nothing to reach. */
interface Targets {
  readonly internal: string | undefined;
  readonly external: (address: string) => string | undefined;
  readonly nodePort: string | undefined;
}

type Out = { elements: Element[]; shared: SharedChain[]; chains: OwnChain[]; sets: OwnSet[] };

function writeDispatch(plan: Plan, t: Targets, out: Out): void {
  const { svc, p } = plan;
  const noEndpoints = (localPolicy: boolean) => (!plan.hasAny ? `goto ${REJECT_CHAIN}` : localPolicy ? 'drop' : undefined);
  const externalNoEndpoints = plan.externalLocal && plan.local.length === 0 ? noEndpoints(true) : plan.cluster.length === 0 ? noEndpoints(false) : undefined;
  for (const ip of svc.clusterIPs) {
    const key = `${ip} . ${p} . ${svc.port}`;
    out.elements.push({ set: SETS.clusterIPs, key: ip });
    if (t.internal) out.elements.push({ set: SETS.serviceIPs, key, value: t.internal });
    else {
      const verdict = noEndpoints(plan.internalLocal);
      if (verdict) out.elements.push({ set: SETS.noEndpointServices, key, value: verdict });
    }
  }
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    const key = `${ip} . ${p} . ${svc.port}`;
    const target = t.external(ip);
    if (target) out.elements.push({ set: SETS.serviceIPs, key, value: target });
    if (externalNoEndpoints) out.elements.push({ set: SETS.noEndpointServices, key, value: externalNoEndpoints });
  }
  if (svc.nodePort > 0) {
    const key = `${p} . ${svc.nodePort}`;
    if (t.nodePort) out.elements.push({ set: SETS.serviceNodePorts, key, value: t.nodePort });
    if (externalNoEndpoints) out.elements.push({ set: SETS.noEndpointNodePorts, key, value: externalNoEndpoints });
  }
}

function flatTargets(plan: Plan, out: Out): Targets {
  const { svc, p, cluster, local } = plan;
  const use = (c: SharedChain) => {
    out.shared.push(c);
    return `goto ${sharedChainName(c)}`;
  };
  const list = (map: string, prefix: string, eps: readonly Endpoint[]) =>
    eps.forEach((ep, slot) => out.elements.push({ set: map, key: `${prefix} . ${slot}`, value: epText(ep) }));

  for (const ip of svc.clusterIPs) list(endpointMap(p), `${ip} . ${svc.port}`, plan.internal);
  const internal = plan.internal.length > 0 ? use({ kind: 'lb', nodePort: false, n: plan.internal.length }) : undefined;
  if (cluster.length === 0) return { internal, external: () => undefined, nodePort: undefined };

  const external = (nodePort: boolean) =>
    plan.externalLocal ? use({ kind: 'external-local', nodePort, m: local.length, n: cluster.length }) : use({ kind: 'external', nodePort, n: cluster.length });
  const addresses = [...svc.externalIPs, ...svc.loadBalancerIPs];
  const externalTarget = addresses.length > 0 ? external(false) : undefined;
  for (const ip of addresses) {
    list(endpointMap(p), `${ip} . ${svc.port}`, plan.externalLocal ? local : cluster);
    if (plan.externalLocal) list(endpointMap(p, true), `${ip} . ${svc.port}`, cluster);
  }
  let nodePort: string | undefined;
  if (svc.nodePort > 0) {
    nodePort = external(true);
    list(nodePortEndpointMap(p), String(svc.nodePort), plan.externalLocal ? local : cluster);
    if (plan.externalLocal) list(nodePortEndpointMap(p, true), String(svc.nodePort), cluster);
  }
  return { internal, external: () => externalTarget, nodePort };
}

function hash8(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 8);
}

/**
 * affinityTargets gives a ClientIP service kube-proxy's own objects: a chain
 * per endpoint group that sends known clients to their endpoint and others
 * to a random one, a chain and a timed set of recent clients per endpoint.
 */
function affinityTargets(plan: Plan, out: Out, o: LayoutOptions): Targets {
  const { svc, p } = plan;
  const { nft: ip, addrType } = nftFamily(o.family);
  const timeout = svc.sessionAffinity.type === 'ClientIP' ? svc.sessionAffinity.timeoutSeconds : 0;
  const base = `${svc.namespace}/${svc.name}/${p}/${svc.portName}`;
  const hash = hash8(`${svc.key}${p}`);
  const seen = new Set<string>();
  const endpointChain = (ep: Endpoint) => {
    // Colons are not allowed in names: an IPv6 endpoint is spelled with dots there, as kube-proxy does.
    const suffix = `${hash8(`${svc.key}${p}${ep.ip}:${ep.port}/${timeout}`)}-${base}__${ep.ip.replaceAll(':', '.')}/${ep.port}`;
    const chain = `endpoint-${suffix}`;
    const set = `affinity-${suffix}`;
    if (!seen.has(chain)) {
      seen.add(chain);
      out.sets.push({ name: set, spec: `type ${addrType} ; flags dynamic,timeout ; timeout ${timeout}s ; size 65535 ;` });
      const to = o.family === 6 ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
      out.chains.push({ name: chain, rules: [`update @${set} { ${ip} saddr } meta l4proto ${p} dnat to ${to}`] });
    }
    return { chain, set };
  };
  const group = (prefix: string, eps: readonly Endpoint[]) => {
    if (eps.length === 0) return undefined;
    const name = `${prefix}-${hash}-${base}`;
    const chains = eps.map(endpointChain);
    const rules = chains.map((c) => `${ip} saddr @${c.set} goto ${c.chain}`);
    rules.push(`numgen random mod ${eps.length} vmap { ${chains.map((c, i) => `${i} : goto ${c.chain}`).join(', ')} }`);
    out.chains.push({ name, rules });
    return name;
  };
  const clusterChain = group('service', plan.cluster);
  const localChain = plan.local !== plan.cluster && (plan.internalLocal || plan.externalLocal) ? group('local', plan.local) : clusterChain;
  const internalChain = plan.internalLocal ? localChain : clusterChain;
  let external: string | undefined;
  if (clusterChain && externallyAccessible(svc)) {
    external = `external-${hash}-${base}`;
    const mark = `meta mark set meta mark | ${o.masqueradeMark}`;
    const rules = plan.externalLocal
      ? [
          ...(o.clusterCIDRs[0] ? [`${ip} saddr ${o.clusterCIDRs[0]} goto ${clusterChain}`] : []),
          `fib saddr type local ${mark} goto ${clusterChain}`,
          ...(localChain && plan.local.length > 0 ? [`goto ${localChain}`] : []),
        ]
      : [`${mark} goto ${clusterChain}`];
    out.chains.push({ name: external, rules });
  }
  const externalTarget = external ? `goto ${external}` : undefined;
  return { internal: internalChain ? `goto ${internalChain}` : undefined, external: () => externalTarget, nodePort: svc.nodePort > 0 ? externalTarget : undefined };
}

/** writeFirewall limits LB IPs with loadBalancerSourceRanges to those sources (and the node, through the LB IPs). */
function writeFirewall(svc: ServicePort, p: NftProtocol, o: RenderOptions, elements: Element[]): void {
  // As kube-proxy, only this family's ranges count: the other family's alone leave this one's traffic unfiltered.
  const ranges = svc.loadBalancerSourceRanges.map((c) => c.trim()).filter((c) => c !== '' && familyOf(c.split('/')[0]!) === o.family);
  if (ranges.length === 0) return;
  // A node reaching its own LB IP loops back with that IP as the source.
  const fromNode = ranges.some((cidr) => o.nodeIPs.some((ip) => inAnyCIDR(ip, [cidr])));
  const sources = outermost([...ranges, ...(fromNode ? svc.loadBalancerIPs : [])]);
  for (const lb of svc.loadBalancerIPs) {
    const key = `${lb} . ${p} . ${svc.port}`;
    elements.push({ set: SETS.firewallIPs, key });
    for (const source of sources) elements.push({ set: SETS.firewallAllow, key: `${key} . ${source}` });
  }
}

/**
 * outermost drops the CIDRs that lie inside another of the list (and
 * duplicates): an interval set refuses overlapping elements, and Kubernetes
 * allows nested source ranges (10.0.0.0/8 and 10.1.0.0/16).
 */
export function outermost(cidrs: readonly string[]): string[] {
  const host = (a: string) => (a.includes(':') ? 128 : 32);
  const bits = (c: string) => Number(c.split('/')[1] ?? host(c));
  const byWidth = [...new Set(cidrs)].sort((a, b) => bits(a) - bits(b));
  const kept: string[] = [];
  for (const c of byWidth) if (!kept.some((k) => inAnyCIDR(c.split('/')[0]!, [k.includes('/') ? k : `${k}/${host(k)}`]))) kept.push(c);
  return kept;
}

/** ownChainRules renders the `add rule` lines of a service's own chain. */
export function ownChainRules(table: string, chain: OwnChain): string[] {
  return chain.rules.map((r) => `add rule ${table} ${chain.name} ${r}`);
}
