import { chainsInSave, type IptablesRunner } from '../iptables/runner.ts';
import { cidrFamily, type IPFamily } from '../endpoints/node-port-addresses.ts';
import { SET, type NoNodeAccess, type RejectTarget, type SetName } from './desired.ts';
import { ipsetName } from './ipset.ts';
import { masqueradeMark } from '../endpoints/proxy-config.ts';

/**
 * The iptables rules of kube-proxy's IPVS mode (its writeIptablesRules), for
 * what IPVS does not do: mark traffic that needs SNAT (from outside the
 * cluster CIDR, to NodePorts, external and load balancer IPs), masquerade it
 * and hairpin traffic in POSTROUTING, filter load balancer source ranges,
 * accept health check node ports and forwarded service traffic, and keep
 * other ports of the addresses on kube-ipvs0 closed. As kube-proxy, the rules
 * of an empty ipset are left out. Ferry adds one chain of its own,
 * KUBE-IPVS-NO-ENDPOINTS: REJECT for services without endpoints.
 * The binaries are run through the iptables toolkit's runner (src/iptables).
 */

export interface RuleOptions {
  readonly masqueradeAll: boolean;
  readonly clusterCIDRs: readonly string[];
  readonly masqueradeBit: number;
  /** MASQUERADE --random-fully, where this iptables has it (src/iptables/host-features.ts). */
  readonly randomFully: boolean;
  /** Entries in each ipset; the rules that match on an empty set are left out. */
  readonly setSize: (set: SetName) => number;
  /** Load balancer IP:ports whose source ranges leave the node out (KUBE-IPVS-OUT-FILTER). */
  readonly noNodeAccess: readonly NoNodeAccess[];
  readonly rejects: readonly RejectTarget[];
  /** Jumps to insert (full syncs), see missingJumps. */
  readonly jumps: readonly Jump[];
  /** The proxier's IP family (ip6tables and the KUBE-6- sets for 6); 4 by default. */
  readonly family?: IPFamily;
}

/** Ferry's own chain: REJECT for services without endpoints (kube-proxy's IPVS mode leaves that to IPVS). */
export const NO_ENDPOINTS_CHAIN = 'KUBE-IPVS-NO-ENDPOINTS';

/** Jump is a rule in a built-in chain that leads into one of ours. */
export interface Jump {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  readonly rule: string;
  readonly target: string;
}

const jump = (table: 'nat' | 'filter', chain: string, target: string, comment: string, match = ''): Jump => ({ table, chain, target, rule: `${match}-m comment --comment "${comment}" -j ${target}` });

/** JUMPS are kube-proxy's (iptablesJumpChain) and Ferry's no-endpoints chain, inserted on full syncs where `iptables-save` lacks them. */
export const JUMPS: readonly Jump[] = [
  jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
  jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
  jump('filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'),
  jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'),
  jump('filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'),
  ...['INPUT', 'OUTPUT', 'FORWARD'].map((chain) => jump('filter', chain, NO_ENDPOINTS_CHAIN, 'services without endpoints', '-m conntrack --ctstate NEW ')),
];

/** The chains each table declares (kube-proxy's iptablesChains, in its order). */
export const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
export const FILTER_CHAINS = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER', NO_ENDPOINTS_CHAIN];

/** missingJumps reads `iptables-save` output (any tables, each after its `*table` line) and lists the jumps it lacks. */
export function missingJumps(saved: string): Jump[] {
  let table = '';
  const present = new Set<string>();
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^-A (\S+) .*-j (KUBE-\S+)/.exec(line);
    if (m) present.add(`${table} ${m[1]} ${m[2]}`);
  }
  return JUMPS.filter((j) => !present.has(`${j.table} ${j.chain} ${j.target}`));
}

/**
 * legacyFilterCleanup: Ferry once rejected in a filter KUBE-SERVICES chain,
 * which kube-proxy's IPVS mode does not have; its jumps and the chain go, so
 * no stale REJECT outlives its service. '' when there is none.
 */
export function legacyFilterCleanup(saved: string): string {
  let table = '';
  let present = false;
  const deletes: string[] = [];
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (table !== 'filter') continue;
    if (line.startsWith(':KUBE-SERVICES ')) present = true;
    if (/^-A (?!KUBE-)\S+ .*-j KUBE-SERVICES(\s|$)/.test(line)) deletes.push(`-D ${line.slice(3)}`);
  }
  return present ? ['*filter', ':KUBE-SERVICES - [0:0]', ...deletes, '-X KUBE-SERVICES', 'COMMIT'].join('\n') + '\n' : '';
}

/** kube-proxy's ipset comments, as the rules carry them. */
const COMMENT: Partial<Record<SetName, string>> = {
  [SET.loopBack]: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose',
  [SET.clusterIP]: 'Kubernetes service cluster ip + port for masquerade purpose',
  [SET.externalIP]: 'Kubernetes service external ip + port for masquerade and filter purpose',
  [SET.externalIPLocal]: 'Kubernetes service external ip + port with externalTrafficPolicy=local',
  [SET.loadBalancer]: 'Kubernetes service lb portal',
  [SET.loadBalancerLocal]: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  [SET.loadBalancerFW]: 'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  [SET.loadBalancerSourceIP]: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  [SET.loadBalancerSourceCIDR]: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  [SET.nodePortTCP]: 'Kubernetes nodeport TCP port for masquerade purpose',
  [SET.nodePortLocalTCP]: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local',
  [SET.nodePortUDP]: 'Kubernetes nodeport UDP port for masquerade purpose',
  [SET.nodePortLocalUDP]: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local',
  [SET.nodePortSCTP]: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  [SET.nodePortLocalSCTP]: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  [SET.healthCheckNodePort]: 'Kubernetes health check node port',
};

/** kube-proxy's ipsetWithIptablesChain: one rule per non-empty set, in this order (each -LOCAL set before its masquerade set). */
const SET_RULES: ReadonlyArray<{ set: SetName; table: 'nat' | 'filter'; from: string; to: string; match: string; proto?: string }> = [
  { set: SET.loopBack, table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: SET.loadBalancer, table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { set: SET.loadBalancerLocal, table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { set: SET.nodePortLocalTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'tcp' },
  { set: SET.nodePortTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'tcp' },
  { set: SET.nodePortLocalUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'udp' },
  { set: SET.nodePortUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'udp' },
  { set: SET.nodePortLocalSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst,dst', proto: 'sctp' },
  { set: SET.nodePortSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst,dst', proto: 'sctp' },
  { set: SET.loadBalancerFW, table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', match: 'dst,dst' },
  { set: SET.loadBalancerSourceCIDR, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { set: SET.loadBalancerSourceIP, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
];

const matchSet = (set: SetName, match: string, family: IPFamily) => `-m comment --comment "${COMMENT[set]}" -m set --match-set ${ipsetName(set, family)} ${match}`;

/** renderRules is the iptables-restore input (for --noflush: only the chains declared here are rewritten). */
export function renderRules(o: RuleOptions): string {
  const family = o.family ?? 4;
  const nat: string[] = [`-A KUBE-SERVICES -s ${family === 4 ? '127.0.0.0/8' : '::1/128'} -j RETURN`];
  const filter: string[] = [];
  const has = (set: SetName) => o.setSize(set) > 0;
  for (const r of SET_RULES) {
    if (has(r.set)) (r.table === 'nat' ? nat : filter).push(`-A ${r.from}${r.proto ? ` -p ${r.proto}` : ''} ${matchSet(r.set, r.match, family)} -j ${r.to}`);
  }
  nat.push(...serviceMarks(o, has, family));
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT', '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  for (const n of o.noNodeAccess) filter.push(`-A KUBE-IPVS-OUT-FILTER -s ${n.address} -m ipvs --vaddr ${n.address} --vproto ${n.protocol} --vport ${n.port} -j DROP`);
  // Accept what IPVS serves, in case other rules would block it (kube-proxy's acceptIPVSTraffic).
  for (const set of [SET.clusterIP, SET.loadBalancer]) if (has(set)) nat.push(`-A KUBE-SERVICES -m set --match-set ${ipsetName(set, family)} dst,dst -j ACCEPT`);
  filter.push(...filterRules(o, family));
  const mark = masqueradeMark(o.masqueradeBit);
  nat.push(
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${o.randomFully ? ' --random-fully' : ''}`,
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
  );
  const declare = (chains: readonly string[]) => chains.map((c) => `:${c} - [0:0]`);
  return [
    '*nat', ...declare(NAT_CHAINS), ...nat, ...insertJumps(o.jumps, 'nat'), 'COMMIT',
    '*filter', ...declare(FILTER_CHAINS), ...filter, ...rejectRules(o.rejects, family), ...insertJumps(o.jumps, 'filter'), 'COMMIT',
  ].join('\n') + '\n';
}

/** serviceMarks: the masquerade marks of cluster IPs (by --masquerade-all, the cluster CIDR, or else the source) and external IPs. */
function serviceMarks(o: RuleOptions, has: (set: SetName) => boolean, family: IPFamily): string[] {
  const out: string[] = [];
  if (has(SET.clusterIP)) {
    const clusterIP = `-A KUBE-SERVICES ${matchSet(SET.clusterIP, '', family)}`.trimEnd();
    // kube-proxy's local detector knows one cluster CIDR per family; without one, node-originated traffic from a service VIP is masqueraded.
    const cidr = o.clusterCIDRs.find((c) => cidrFamily(c) === family);
    if (o.masqueradeAll) out.push(`${clusterIP} dst,dst -j KUBE-MARK-MASQ`);
    else if (cidr) out.push(`${clusterIP} dst,dst ! -s ${cidr} -j KUBE-MARK-MASQ`);
    else out.push(`${clusterIP} src,dst -j KUBE-MARK-MASQ`);
  }
  // External IPs: accepted from off the machine, or when they are local addresses; only the non-Local ones get the mark.
  const accept = (set: SetName) => {
    const base = `-A KUBE-SERVICES ${matchSet(set, 'dst,dst', family)}`;
    return [`${base} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`, `${base} -m addrtype --dst-type LOCAL -j ACCEPT`];
  };
  if (has(SET.externalIP)) out.push(`-A KUBE-SERVICES ${matchSet(SET.externalIP, 'dst,dst', family)} -j KUBE-MARK-MASQ`, ...accept(SET.externalIP));
  if (has(SET.externalIPLocal)) out.push(...accept(SET.externalIPLocal));
  return out;
}

/** filterRules: forwarding of marked and established traffic, health check node ports, and the kube-ipvs0 access filter. */
function filterRules(o: RuleOptions, family: IPFamily): string[] {
  const mark = masqueradeMark(o.masqueradeBit);
  const ret = (set: SetName, match: string) => `-A KUBE-IPVS-FILTER -m set --match-set ${ipsetName(set, family)} ${match} -j RETURN`;
  return [
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    `-A KUBE-NODE-PORT ${matchSet(SET.healthCheckNodePort, 'dst', family)} -j ACCEPT`,
    // Other ports of the addresses on kube-ipvs0 are closed (kubernetes#72236).
    ret(SET.loadBalancer, 'dst,dst'),
    ret(SET.clusterIP, 'dst,dst'),
    ret(SET.externalIP, 'dst,dst'),
    ret(SET.externalIPLocal, 'dst,dst'),
    ret(SET.healthCheckNodePort, 'dst'),
    `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${ipsetName(SET.ipvsIPs, family)} dst -j REJECT`,
  ];
}

/** rejectRules: Ferry's REJECT for each service address (and node port) without endpoints. */
function rejectRules(rejects: readonly RejectTarget[], family: IPFamily): string[] {
  const out: string[] = [];
  for (const r of rejects) {
    if (r.address !== undefined && r.address.includes(':') !== (family === 6)) continue; // the other family's proxier has it
    const proto = r.protocol.toLowerCase();
    const dst = r.address === undefined ? '-m addrtype --dst-type LOCAL' : `-d ${r.address}/${family === 4 ? 32 : 128}`;
    const icmp = family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
    out.push(`-A ${NO_ENDPOINTS_CHAIN} ${dst} -p ${proto} -m ${proto} --dport ${r.port} -m comment --comment "service has no endpoints" -j REJECT --reject-with ${icmp}`);
  }
  return out;
}

const insertJumps = (jumps: readonly Jump[], table: string): string[] => jumps.filter((j) => j.table === table).map((j) => `-I ${j.chain} 1 ${j.rule}`);

/** saveTables returns the nat and filter dumps, for missingJumps. */
export async function saveTables(runner: IptablesRunner): Promise<string> {
  return (await runner.save('nat')) + (await runner.save('filter'));
}

/**
 * removeKubeChains deletes every rule in a built-in chain that jumps to a
 * KUBE- chain, then flushes and deletes every KUBE- chain, in nat and filter
 * (also what other proxy modes left). Safe on a clean node.
 */
export async function removeKubeChains(runner: IptablesRunner): Promise<void> {
  for (const table of ['nat', 'filter', 'mangle']) {
    const saved = await runner.save(table).catch(() => undefined);
    if (saved === undefined) continue;
    const chains = chainsInSave(saved).filter((c) => c.startsWith('KUBE-'));
    const jumps = saved.split('\n').filter((l) => /^-A (?!KUBE-)\S+ .*-j KUBE-/.test(l));
    if (chains.length === 0 && jumps.length === 0) continue;
    const text = [
      `*${table}`,
      ...chains.map((c) => `:${c} - [0:0]`),
      ...jumps.map((l) => `-D ${l.slice(3)}`),
      ...chains.map((c) => `-X ${c}`),
      'COMMIT',
    ].join('\n');
    await runner.restore(text + '\n');
  }
}
