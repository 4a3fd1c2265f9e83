import type { ProxyState, ServicePort } from './proxy-state.ts';
import { execFile } from '../util/exec.ts';

/**
 * ConntrackDeletion is one `conntrack -D` filter. UDP has no connection
 * teardown, so an entry DNATed to an endpoint that went away keeps steering a
 * client's packets there until it idles out; these filters drop such entries.
 */
export type ConntrackDeletion = readonly string[];

function serviceIPs(svc: ServicePort): string[] {
  return [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs];
}

/**
 * conntrackDeletions computes the `conntrack -D` argument lists for a sync, as
 * kube-proxy v1.28 does: entries to service IPs (and node ports) DNATed to
 * endpoints that went away, and all entries to UDP services that just gained
 * endpoints (they may hold ICMP-rejected "no endpoint" state), and all
 * entries to the IPs of UDP services deleted since `previous` (the last
 * synced services), which also supplies services deleted in this sync.
 * For an IPv6 snapshot each filter ends with `-f ipv6` (conntrack looks at
 * IPv4 entries unless told), as kube-proxy's parametersWithFamily.
 */
export function conntrackDeletions(state: ProxyState, previous: ReadonlyMap<string, ServicePort>): ConntrackDeletion[] {
  const out = familyBlindDeletions(state, previous);
  return (state.ipFamily ?? 4) === 6 ? out.map((args) => [...args, '-f', 'ipv6']) : out;
}

function familyBlindDeletions(state: ProxyState, previous: ReadonlyMap<string, ServicePort>): ConntrackDeletion[] {
  const out: ConntrackDeletion[] = [];
  for (const { serviceKey, endpoint } of state.udpConntrack.deletedEndpoints) {
    const svc = state.services.get(serviceKey) ?? previous.get(serviceKey);
    if (!svc || svc.protocol !== 'UDP') continue;
    const epIP = endpoint.slice(0, endpoint.lastIndexOf(':'));
    for (const ip of serviceIPs(svc)) out.push(['-D', '--orig-dst', ip, '--dst-nat', epIP, '-p', 'udp']);
    if (svc.nodePort > 0) out.push(['-D', '-p', 'udp', '--dport', String(svc.nodePort), '--dst-nat', epIP]);
  }
  for (const key of state.udpConntrack.newlyActiveServices) {
    const svc = state.services.get(key);
    if (!svc || svc.protocol !== 'UDP') continue;
    for (const ip of serviceIPs(svc)) out.push(['-D', '--orig-dst', ip, '-p', 'udp']);
    if (svc.nodePort > 0) out.push(['-D', '-p', 'udp', '--dport', String(svc.nodePort)]);
  }
  for (const [key, svc] of previous) {
    if (svc.protocol !== 'UDP' || state.services.has(key)) continue;
    for (const ip of svc.clusterIPs) out.push(['-D', '--orig-dst', ip, '-p', 'udp']);
  }
  return out;
}

/**
 * runConntrackDeletions runs each deletion with the conntrack CLI. Exit code 1
 * with "0 flow entries" just means nothing matched; other failures are
 * returned for logging (they never fail a sync: the rules are already right).
 */
export async function runConntrackDeletions(deletions: readonly ConntrackDeletion[]): Promise<Error[]> {
  const errors: Error[] = [];
  for (const args of deletions) {
    const r = await execFile('conntrack', args, { allowFailure: true, timeoutMs: 10_000 }).catch((e: unknown) => e as Error);
    if (r instanceof Error) errors.push(r);
    else if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) errors.push(new Error(`conntrack ${args.join(' ')}: ${r.stderr.trim()}`));
  }
  return errors;
}
