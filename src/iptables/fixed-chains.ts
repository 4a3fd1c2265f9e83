import { comment } from './rule-buffer.ts';

/** The fixed chains every sync rewrites in full, per table. */
export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
/**
 * KUBE-FIREWALL blocks outside traffic to 127.0.0.0/8 that route_localnet=1
 * would otherwise let in (kubernetes#90259); kubelet keeps an identical copy.
 */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
/** KUBE-PROXY-CANARY is an empty chain whose disappearance means someone flushed the tables. */
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

/**
 * CT_STATE_INVALID_DROPPED_COUNTER is the nfacct object KUBE-FORWARD's
 * "drop ctstate INVALID" rule counts into where the kernel has nfacct
 * (kube-proxy's name, metric kubeproxy_iptables_ct_state_invalid_dropped_packets_total).
 */
export const CT_STATE_INVALID_DROPPED_COUNTER = 'ct_state_invalid_dropped_pkts';
/**
 * LOCALHOST_NODEPORTS_COUNTER is the nfacct object that counts NodePort
 * packets to 127.0.0.0/8 (kube-proxy's name, metric
 * kubeproxy_iptables_localhost_nodeports_accepted_packets_total): it tells
 * an operator whether anything relies on localhost NodePorts.
 */
export const LOCALHOST_NODEPORTS_COUNTER = 'localhost_nps_accepted_pkts';
/** NFACCT_COUNTERS are the objects the proxier creates at start. */
export const NFACCT_COUNTERS = [CT_STATE_INVALID_DROPPED_COUNTER, LOCALHOST_NODEPORTS_COUNTER] as const;

export const FILTER_CHAINS = [KUBE_NODEPORTS, KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_PROXY_FIREWALL] as const;
export const NAT_CHAINS = [KUBE_NODEPORTS, KUBE_SERVICES, KUBE_MARK_MASQ, KUBE_POSTROUTING] as const;

/** JumpRule hooks one of our chains into a built-in chain. */
export interface JumpRule {
  readonly table: 'filter' | 'nat';
  readonly from: string;
  readonly to: string;
  readonly args: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

/** JUMP_RULES are kube-proxy's jumps from the built-in chains (iptablesJumpChains). */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', from: 'INPUT', to: KUBE_EXTERNAL_SERVICES, args: [...NEW, ...comment('kubernetes externally-visible service portals')] },
  { table: 'filter', from: 'FORWARD', to: KUBE_EXTERNAL_SERVICES, args: [...NEW, ...comment('kubernetes externally-visible service portals')] },
  { table: 'filter', from: 'INPUT', to: KUBE_NODEPORTS, args: comment('kubernetes health check service ports') },
  { table: 'filter', from: 'FORWARD', to: KUBE_SERVICES, args: [...NEW, ...comment('kubernetes service portals')] },
  { table: 'filter', from: 'OUTPUT', to: KUBE_SERVICES, args: [...NEW, ...comment('kubernetes service portals')] },
  { table: 'filter', from: 'FORWARD', to: KUBE_FORWARD, args: comment('kubernetes forwarding rules') },
  { table: 'filter', from: 'INPUT', to: KUBE_PROXY_FIREWALL, args: [...NEW, ...comment('kubernetes load balancer firewall')] },
  { table: 'filter', from: 'OUTPUT', to: KUBE_PROXY_FIREWALL, args: [...NEW, ...comment('kubernetes load balancer firewall')] },
  { table: 'filter', from: 'FORWARD', to: KUBE_PROXY_FIREWALL, args: [...NEW, ...comment('kubernetes load balancer firewall')] },
  { table: 'nat', from: 'OUTPUT', to: KUBE_SERVICES, args: comment('kubernetes service portals') },
  { table: 'nat', from: 'PREROUTING', to: KUBE_SERVICES, args: comment('kubernetes service portals') },
  { table: 'nat', from: 'POSTROUTING', to: KUBE_POSTROUTING, args: comment('kubernetes postrouting rules') },
];

/** KUBELET_JUMP_RULES hook KUBE-FIREWALL into INPUT and OUTPUT (kube-proxy's iptablesKubeletJumpChains), with localhost NodePorts. */
export const KUBELET_JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', from: 'INPUT', to: KUBE_FIREWALL, args: [] },
  { table: 'filter', from: 'OUTPUT', to: KUBE_FIREWALL, args: [] },
];

/** missingJumps lists the jump rules (JUMP_RULES unless told) absent from iptables-save dumps of filter and nat. */
export function missingJumps(dumps: { readonly filter: string; readonly nat: string }, rules: readonly JumpRule[] = JUMP_RULES): JumpRule[] {
  return rules.filter((j) => {
    const lines = dumps[j.table].split('\n');
    return !lines.some((l) => l.startsWith(`-A ${j.from} `) && l.endsWith(` -j ${j.to}`));
  });
}

/** isFixedChain tells the fixed chains (and the canary) this proxier creates. */
export function isFixedChain(name: string): boolean {
  // KUBE-FIREWALL counts as ours for --cleanup: kubelet, where it runs, puts its copy back.
  return (FILTER_CHAINS as readonly string[]).includes(name) || (NAT_CHAINS as readonly string[]).includes(name) || name === KUBE_PROXY_CANARY || name === KUBE_FIREWALL;
}
