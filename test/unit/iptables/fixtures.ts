import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import type { IptablesHostFeatures } from '../../../src/iptables/host-features.ts';
import type { RenderOptions } from '../../../src/iptables/render.ts';
import { proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';

/*
 * Fixed test addresses (kube-proxy's proxier_test.go conventions):
 *   Pod IPs:             10.0.0.0/8 (endpoints 10.180.0.0/16)
 *   Service ClusterIPs:  172.30.0.0/16
 *   Service external IPs 192.168.99.0/24
 *   Load balancer IPs:   1.2.3.4, 5.6.7.8
 *   Non-cluster IPs:     203.0.113.0/25 (allowed source range), 203.0.113.200 (other)
 *   Local node IP:       192.168.0.2
 *   Other node endpoint: 10.180.1.1 (isLocal false)
 */
export const NODE_IP = '192.168.0.2';
export const CLUSTER_CIDR = '10.0.0.0/8';

export const OPTIONS: RenderOptions = {
  clusterCIDRs: [CLUSTER_CIDR],
  masqueradeAll: false,
  masqueradeMark: '0x4000',
  nodePortIPs: 'all',
  nodeIPs: [NODE_IP],
  localhostNodePorts: true,
  randomFully: true,
  conntrackTCPLiberal: false,
};

/** HOST is a node whose iptables has --random-fully and whose conntrack is strict (this machine's). */
export const HOST: IptablesHostFeatures = { randomFully: true, conntrackTCPLiberal: false };

/** svc builds a ClusterIP TCP service port `ns/name:p80` with overrides. */
export const svc = servicePort;

/** ep builds a ready endpoint on port 80, local unless said otherwise. */
export function ep(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return { ip, port: 80, ready: true, serving: true, terminating: false, isLocal: true, ...over };
}

/** state builds a snapshot; `changed` defaults to every service. */
export const state = (entries: ReadonlyArray<[ServicePort, Endpoint[]]>, changed?: readonly string[]): ProxyState => proxyState(entries, changed);

/**
 * normalize makes restore text comparable ignoring unimportant order: per
 * table, chain declarations are sorted and rules are grouped by chain
 * (sorted by chain) while keeping their order within each chain, which is
 * the order that matters.
 */
export function normalize(text: string): string {
  const out: string[] = [];
  let decls: string[] = [];
  let rules = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      out.push(line);
      decls = [];
      rules = new Map();
    } else if (line.startsWith(':')) decls.push(line);
    else if (line === 'COMMIT') {
      out.push(...decls.sort());
      for (const chain of [...rules.keys()].sort()) out.push(...rules.get(chain)!);
      out.push('COMMIT');
    } else {
      const chain = line.split(' ')[1]!;
      rules.set(chain, [...(rules.get(chain) ?? []), line]);
    }
  }
  return out.join('\n');
}

/** dedent strips the common leading indentation of a template literal. */
export function dedent(text: string): string {
  const lines = text.split('\n').filter((l, i, all) => !(l.trim() === '' && (i === 0 || i === all.length - 1)));
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^\s*/)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}
