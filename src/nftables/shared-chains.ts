import { endpointMap, nftFamily, nodePortEndpointMap, PROTOCOLS, type LayoutOptions } from './layout.ts';

/**
 * Shared chains pick an endpoint for every service with the same number of
 * endpoints: `numgen random mod N` is one part of the key into a per-protocol
 * endpoint map, the other parts come from the packet (destination address
 * and port, or node port). So there is one chain per distinct N, not one per
 * service, and a service's endpoints are map elements only.
 *
 * Kinds:
 * - `lb-N`: the N endpoints listed under the packet's destination address and port;
 * - `lb-cluster-N`: the same from the cluster-wide list of an eTP Local service (its short-circuit);
 * - `external-N`: masquerade, then `lb-N` (externalTrafficPolicy Cluster);
 * - `external-local-M-of-N`: pods and the node itself short-circuit to the N cluster-wide
 *   endpoints, everyone else goes to the M local ones (none when M is 0: filtering drops them);
 * - the same four with a `nodeport-` prefix, keyed by the node port alone.
 */
export type SharedChain =
  | { readonly kind: 'lb' | 'lb-cluster' | 'external'; readonly nodePort: boolean; readonly n: number }
  | { readonly kind: 'external-local'; readonly nodePort: boolean; readonly m: number; readonly n: number };

export function sharedChainName(c: SharedChain): string {
  const prefix = c.nodePort ? 'nodeport-' : '';
  return c.kind === 'external-local' ? `${prefix}external-local-${c.m}-of-${c.n}` : `${prefix}${c.kind}-${c.n}`;
}

/** dependencies are the shared chains a chain jumps to, which must exist first. */
export function sharedChainDependencies(c: SharedChain): SharedChain[] {
  const { nodePort } = c;
  switch (c.kind) {
    case 'external':
      return [{ kind: 'lb', nodePort, n: c.n }];
    case 'external-local':
      return [{ kind: 'lb-cluster', nodePort, n: c.n }, ...(c.m > 0 ? [{ kind: 'lb' as const, nodePort, n: c.m }] : [])];
    default:
      return [];
  }
}

/** sharedChainRules renders a shared chain's rules (`add rule` lines). */
export function sharedChainRules(c: SharedChain, o: LayoutOptions): string[] {
  const name = sharedChainName(c);
  const { table, nft: ip } = nftFamily(o.family);
  const rule = (text: string) => `add rule ${table} ${name} ${text}`;
  const mark = `meta mark set meta mark | ${o.masqueradeMark}`;
  const goto = (target: SharedChain) => `goto ${sharedChainName(target)}`;
  switch (c.kind) {
    case 'lb':
    case 'lb-cluster':
      return PROTOCOLS.map((p) => {
        const cluster = c.kind === 'lb-cluster';
        const key = c.nodePort ? `${p} dport` : `${ip} daddr . ${p} dport`;
        const map = c.nodePort ? nodePortEndpointMap(p, cluster) : endpointMap(p, cluster);
        return rule(`meta l4proto ${p} dnat ${ip} addr . port to ${key} . numgen random mod ${c.n} map @${map}`);
      });
    case 'external':
      return [rule(`${mark} ${goto({ kind: 'lb', nodePort: c.nodePort, n: c.n })}`)];
    case 'external-local': {
      const cluster: SharedChain = { kind: 'lb-cluster', nodePort: c.nodePort, n: c.n };
      const out: string[] = [];
      // Pods and the node would be dropped on a node without local endpoints: they use every endpoint.
      if (o.clusterCIDRs[0]) out.push(rule(`${ip} saddr ${o.clusterCIDRs[0]} ${goto(cluster)} comment "short-circuit pod traffic"`));
      out.push(rule(`fib saddr type local ${mark} ${goto(cluster)} comment "short-circuit and masquerade traffic from this node"`));
      if (c.m > 0) out.push(rule(goto({ kind: 'lb', nodePort: c.nodePort, n: c.m })));
      return out;
    }
  }
}
