import { chainsInSave, type IptablesRunner } from '../iptables/runner.ts';
import type { RejectTarget } from './desired.ts';
import { SET } from './desired.ts';
import { masqueradeMark } from '../endpoints/proxy-config.ts';

/**
 * The iptables rules of kube-proxy's IPVS mode, for what IPVS does not do:
 * mark traffic that needs SNAT (from outside the cluster CIDR, to NodePorts,
 * external and load balancer IPs), masquerade it and hairpin traffic in
 * POSTROUTING, and REJECT traffic to services without endpoints.
 * The binaries are run through the iptables toolkit's runner (src/iptables).
 */

export interface RuleOptions {
  readonly masqueradeAll: boolean;
  readonly clusterCIDRs: readonly string[];
  readonly masqueradeBit: number;
  readonly rejects: readonly RejectTarget[];
  /** Jumps to insert (full syncs), see missingJumps. */
  readonly jumps: readonly Jump[];
}

/** Jump is a rule in a built-in chain that leads into one of ours. */
export interface Jump {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  readonly rule: string;
  readonly target: string;
}

/** JUMPS are inserted on full syncs where `iptables-save` does not show them (as kube-proxy ensures them). */
export const JUMPS: readonly Jump[] = [
  { table: 'nat', chain: 'PREROUTING', rule: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES', target: 'KUBE-SERVICES' },
  { table: 'nat', chain: 'OUTPUT', rule: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES', target: 'KUBE-SERVICES' },
  { table: 'nat', chain: 'POSTROUTING', rule: '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', target: 'KUBE-POSTROUTING' },
  ...['INPUT', 'OUTPUT', 'FORWARD'].map((chain) => ({
    table: 'filter' as const,
    chain,
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    target: 'KUBE-SERVICES',
  })),
];

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

const IPV4_CIDR = /^\d+\.\d+\.\d+\.\d+\/\d+$/;

/** renderRules is the iptables-restore input (for --noflush: only the chains declared here are rewritten). */
export function renderRules(o: RuleOptions): string {
  const mark = masqueradeMark(o.masqueradeBit);
  const clusterIP = `-m set --match-set ${SET.clusterIP} dst,dst`;
  const nat = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-NODE-PORT - [0:0]',
    `-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set ${SET.loopBack} dst,dst,src -j MASQUERADE`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
  ];
  if (o.masqueradeAll) nat.push(`-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" ${clusterIP} -j KUBE-MARK-MASQ`);
  for (const cidr of o.clusterCIDRs.filter((c) => IPV4_CIDR.test(c))) {
    nat.push(`-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" ! -s ${cidr} ${clusterIP} -j KUBE-MARK-MASQ`);
  }
  nat.push(
    // externalTrafficPolicy Local: no masquerade, so endpoints see the client's address.
    `-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port with externalTrafficPolicy=local" -m set --match-set ${SET.externalIPLocal} dst,dst -j RETURN`,
    `-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port for masquerade and filter purpose" -m set --match-set ${SET.externalIP} dst,dst -j KUBE-MARK-MASQ`,
    `-A KUBE-SERVICES -m comment --comment "Kubernetes service load balancer ip + port with externalTrafficPolicy=local" -m set --match-set ${SET.loadBalancerLocal} dst,dst -j RETURN`,
    `-A KUBE-SERVICES -m comment --comment "Kubernetes service load balancer ip + port for masquerade purpose" -m set --match-set ${SET.loadBalancer} dst,dst -j KUBE-MARK-MASQ`,
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
    `-A KUBE-SERVICES ${clusterIP} -j ACCEPT`,
    `-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set ${SET.nodePortLocalTCP} dst -j RETURN`,
    `-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set ${SET.nodePortTCP} dst -j KUBE-MARK-MASQ`,
    `-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port with externalTrafficPolicy=local" -m set --match-set ${SET.nodePortLocalUDP} dst -j RETURN`,
    `-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade purpose" -m set --match-set ${SET.nodePortUDP} dst -j KUBE-MARK-MASQ`,
    ...insertJumps(o.jumps, 'nat'),
    'COMMIT',
  );
  const filter = ['*filter', ':KUBE-SERVICES - [0:0]', ...insertJumps(o.jumps, 'filter')];
  for (const r of o.rejects) {
    if (r.address !== undefined && r.address.includes(':')) continue; // IPv6 rules belong to ip6tables
    const proto = r.protocol.toLowerCase();
    const dst = r.address === undefined ? '-m addrtype --dst-type LOCAL' : `-d ${r.address}/32`;
    filter.push(`-A KUBE-SERVICES ${dst} -p ${proto} -m ${proto} --dport ${r.port} -m comment --comment "service has no endpoints" -j REJECT --reject-with icmp-port-unreachable`);
  }
  filter.push('COMMIT');
  return [...nat, ...filter].join('\n') + '\n';
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
