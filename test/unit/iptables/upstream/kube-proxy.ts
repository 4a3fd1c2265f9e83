import type { ExecutionContext } from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Endpoint, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { NFACCT_COUNTERS } from '../../../../src/iptables/fixed-chains.ts';
import type { IptablesHostFeatures } from '../../../../src/iptables/host-features.ts';
import { ProxyStateBuilder } from '../../../../src/endpoints/state-builder.ts';
import { IptablesProxier, type IptablesMetrics } from '../../../../src/iptables/proxier.ts';
import { nodePortTargets } from '../../../../src/iptables/node-ports.ts';
import { renderRules, type RenderOptions } from '../../../../src/iptables/render.ts';
import { FakeIptables, tracePacket } from '../../../helpers/iptables-tracer.ts';
import { proxyConfig } from '../../../helpers/proxy-state-fixtures.ts';
import { normalize, state } from '../fixtures.ts';

/**
 * Shared setup of the tests ported from kube-proxy's iptables proxier tests:
 * expected dumps and packet flows are upstream's facts, carried over as data;
 * the services are rebuilt as Ferry ServicePorts. Source:
 *   kubernetes pkg/proxy/iptables/proxier_test.go, as carried by
 *   aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212
 *   (upstream master of the 1.29/1.30 cycle).
 *
 * Upstream's test addresses (its header comment):
 *   Pod IPs 10.0.0.0/8, Service ClusterIPs 172.30.0.0/16, node IPs
 *   192.168.0.0/24 (this node 192.168.0.2, also 192.168.1.2 and the
 *   external IP 192.168.99.11 are local), LoadBalancer IPs 1.2.3.4, 5.6.7.8,
 *   non-cluster clients 203.0.113.0/24 with source range 203.0.113.0/25.
 *   For IPv6 (TestNodePorts): pod IPs fd00:10::/64, node IPs 2001:db8::1
 *   and 2001:db8:1::2, ClusterIP fd00:172:30::41, client 2600:5200::1.
 *
 * Every Test func of that file, and where it is (31; checked against the
 * file at that commit — it has no TestEndpointSliceE2E and no
 * TestDeleteEndpointConnections, which earlier versions of this list named):
 *
 * Ported:
 * - TestCheckIPTablesRuleJumps: rule-jumps.test.ts; the check also runs on
 *   Ferry's whole restores in overall.test.ts and service-objects.test.ts.
 * - TestTracePacket, TestOverallIPTablesRules (with its nat rule-total
 *   metric check): overall.test.ts.
 * - TestNoEndpointsReject, TestClusterIPGeneral, TestLoadBalancer,
 *   TestNodePorts (its 4 IPv4 and 3 IPv6 cases), TestHealthCheckNodePort,
 *   TestDropInvalidRule (its 3 cases), TestMasqueradeRule,
 *   TestExternalTrafficPolicyLocal, TestExternalTrafficPolicyCluster: flows.test.ts.
 * - TestComputeProbability: probability.test.ts.
 * - TestInternalTrafficPolicy, TestTerminatingEndpointsTrafficPolicyLocal,
 *   TestTerminatingEndpointsTrafficPolicyCluster, TestInternalExternalMasquerade
 *   (its 4 configurations): policies.test.ts.
 * - TestSyncProxyRulesLargeClusterMode: large-cluster.test.ts (one step
 *   differs on purpose, said there).
 * - TestSyncProxyRulesRepeated (with its rule-total, last-sync and
 *   partial-restore-failure metric checks): repeated.test.ts.
 * - TestNoEndpointsMetric, TestProxierMetricsIPTablesTotalRules: metrics.test.ts.
 * - TestBuildServiceMapAddRemove (one expectation differs on purpose, said
 *   there), TestBuildServiceMapServiceHeadless,
 *   TestBuildServiceMapServiceTypeExternalName, TestBuildServiceMapServiceUpdate,
 *   TestUpdateEndpointsMap (its 15 cases):
 *   ../../endpoints/upstream-trackers.test.ts, through Ferry's trackers.
 * - TestBadIPs, TestLoadBalancerIngressRouteTypeProxy (its 3 gate-on cases),
 *   TestHealthCheckNodePortWhenTerminating: service-objects.test.ts, from
 *   Service and EndpointSlice objects through the trackers.
 *
 * Not ported, and why:
 * - TestParseIPTablesData, TestSortIPTablesRules: they test upstream's own
 *   test helpers (splitting a dump into tables, sorting one for comparison),
 *   not kube-proxy; Ferry's comparisons use FakeIptables and
 *   fixtures.normalize instead.
 *
 * Cases left out of ported tests, and why:
 * - TestLoadBalancerIngressRouteTypeProxy's 3 gate-off cases: LoadBalancerIPMode
 *   is GA and locked on in the kube-proxy carried here (the test must emulate
 *   1.31 to turn it off); Ferry, like it, always honours ipMode and refuses
 *   featureGates.LoadBalancerIPMode: false.
 *
 * Configuration: upstream's fake proxier has both its nfacct counters, and
 * so do these tests (upstreamOptions and upstreamProxier; `nfacct: false` is
 * TestDropInvalidRule's case without them): the ctstate INVALID drop counts
 * into ct_state_invalid_dropped_pkts, and each NodePort has the extra rule
 * that counts localhost packets into localhost_nps_accepted_pkts, as
 * upstream's dumps have them. Upstream's fake iptables has no
 * --random-fully, nor has UPSTREAM_HOST.
 */
export const SOURCE = 'kubernetes pkg/proxy/iptables/proxier_test.go @ aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212';

export const testNodeIP = '192.168.0.2';
export const testNodeIPAlt = '192.168.1.2';
export const testExternalIP = '192.168.99.11';
export const testExternalClient = '203.0.113.2';
export const testExternalClientBlocked = '203.0.113.130';
/** The IPv4 addresses of upstream's fake node (testNodeIPs without the IPv6 ones). */
export const testNodeIPs = [testNodeIP, testNodeIPAlt, testExternalIP];
export const testNodeIPv6 = '2001:db8::1';
export const testNodeIPv6Alt = '2001:db8:1::2';
/** The IPv6 addresses of upstream's fake node. */
export const testNodeIPv6s = [testNodeIPv6, testNodeIPv6Alt];

/** UPSTREAM_HOST is NewFakeProxier's node: its fake iptables has no --random-fully; conntrack is strict. */
export const UPSTREAM_HOST: IptablesHostFeatures = { randomFully: false, conntrackTCPLiberal: false };

/** upstreamOptions are NewFakeProxier's settings as Ferry RenderOptions. */
export function upstreamOptions(flags: { nodePortAddresses?: string[]; localhostNodePorts?: boolean; nfacct?: boolean } = {}): RenderOptions {
  return {
    nfacctCounters: new Set(flags.nfacct === false ? [] : NFACCT_COUNTERS),
    clusterCIDRs: ['10.0.0.0/8'],
    masqueradeAll: false,
    masqueradeMark: '0x4000',
    nodeIPs: [testNodeIP],
    ...UPSTREAM_HOST,
    ...nodePortTargets({ nodePortAddresses: flags.nodePortAddresses ?? [], localhostNodePorts: flags.localhostNodePorts ?? true }, testNodeIPs, [testNodeIP]),
  };
}

/** upstreamOptionsIPv6 are NewFakeProxier's settings for an IPv6 fake (ip6tables): its pod CIDR, its node addresses. */
export function upstreamOptionsIPv6(flags: { nodePortAddresses?: string[]; localhostNodePorts?: boolean } = {}): RenderOptions {
  return {
    ...upstreamOptions(flags),
    ipFamily: 6,
    clusterCIDRs: ['fd00:10::/64'],
    nodeIPs: [testNodeIPv6],
    ...nodePortTargets({ nodePortAddresses: flags.nodePortAddresses ?? [], localhostNodePorts: flags.localhostNodePorts ?? true }, testNodeIPv6s, [testNodeIP, testNodeIPv6], 6),
  };
}

/** local and remote endpoints: upstream's NodeName testHostname, or no NodeName. */
export const local = (ip: string, port = 80, over: Partial<Endpoint> = {}): Endpoint => ({ ip, port, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'test-hostname', ...over });
export const remote = (ip: string, port = 80, over: Partial<Endpoint> = {}): Endpoint => ({ ip, port, ready: true, serving: true, terminating: false, isLocal: false, ...over });

/** sync renders the services in full into a fresh fake, as one syncProxyRules. */
export async function sync(entries: ReadonlyArray<[ServicePort, Endpoint[]]>, options: RenderOptions = upstreamOptions()): Promise<{ ipt: FakeIptables; text: string }> {
  const text = renderRules({ state: state(entries), full: true, installedChains: new Set(), jumps: [] }, options).text;
  const ipt = new FakeIptables();
  await ipt.restore(text);
  return { ipt, text };
}

/**
 * upstreamProxier is NewFakeProxier as a Ferry IptablesProxier on a fake
 * iptables, for the cases that follow syncs over time or read metrics.
 */
export function upstreamProxier(t: ExecutionContext, metrics: IptablesMetrics): { ipt: FakeIptables; proxier: IptablesProxier } {
  const ipt = new FakeIptables();
  const proxier = new IptablesProxier({
    config: proxyConfig({ clusterCIDRs: ['10.0.0.0/8'], iptablesBackend: 'nft' }), runner: ipt, healthHost: '127.0.0.1', now: () => 1_000_000,
    sysctl: async () => {}, // recorded nowhere: these tests run in the machine's own namespace
    host: UPSTREAM_HOST, metrics,
    // As upstream's fake proxier: every nfacct counter could be created.
    nfacct: { ensure: async (names) => new Set(names), packets: async () => undefined, close() {} },
  });
  t.teardown(() => proxier.close());
  return { ipt, proxier };
}

/** countRules is upstream's: the rules (`-A` lines) of one table of a restore input. */
export function countRules(restore: string, table: string): number {
  const lines = restore.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`*${table}`);
  const end = lines.indexOf('COMMIT', start);
  return lines.slice(start, end).filter((l) => l.startsWith('-A ')).length;
}

/**
 * syncObjects is sync from Service and EndpointSlice objects, through the
 * change trackers every mode reads them with (upstream's makeServiceMap and
 * populateEndpointSlices), for the cases whose point is how objects are read.
 */
export async function syncObjects(services: readonly Service[], slices: readonly EndpointSlice[], options: RenderOptions = upstreamOptions()): Promise<{ ipt: FakeIptables; text: string }> {
  const builder = new ProxyStateBuilder('test-hostname');
  for (const s of services) builder.onServiceChange(undefined, s);
  for (const s of slices) builder.onEndpointSliceChange(s, false);
  const text = renderRules({ state: builder.build(), full: true, installedChains: new Set(), jumps: [] }, options).text;
  const ipt = new FakeIptables();
  await ipt.restore(text);
  return { ipt, text };
}

/**
 * translateDump turns Ferry's restore input and upstream's expected dump into
 * comparable text: Ferry's canary chains (upstream makes them outside the
 * restore) and mangle table go. Then chains' declarations are sorted and
 * rules grouped per chain in their order (fixtures.normalize); upstream's
 * dumps are compared as they are.
 */
export function translateDump(text: string, from: 'ferry' | 'upstream'): string {
  let lines = text.split('\n').map((l) => l.trim());
  if (from === 'ferry') {
    const mangle = lines.indexOf('*mangle');
    if (mangle >= 0) lines = lines.slice(0, mangle);
    lines = lines.filter((l) => !l.includes('KUBE-PROXY-CANARY'));
  }
  return normalize(lines.join('\n'));
}

/** Chains kube-proxy may create without jumping to them (upstream's checkIPTablesRuleJumps exemptions). */
const FIXED_CHAINS = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-FORWARD', 'KUBE-MARK-MASQ', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL'];
const BUILTIN_TARGETS = new Set(['ACCEPT', 'REJECT', 'DROP', 'MARK', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE']);

/**
 * checkRuleJumps is upstream's checkIPTablesRuleJumps, the consistency check
 * its assertIPTablesRulesEqual runs on a whole restore: per table, every
 * chain jumped to or filled is created, every chain jumped to has rules
 * (but KUBE-NODEPORTS), and no created chain but the fixed ones goes unused.
 * Returns upstream's error text, or undefined when consistent.
 */
export function checkRuleJumps(restore: string): string | undefined {
  const tables = restore.split(/^COMMIT$/m).map((t) => t.trim().split('\n').map((l) => l.trim())).filter((lines) => lines[0]?.startsWith('*'));
  const names = (lines: string[], re: RegExp) => new Set(lines.map((l) => re.exec(l)?.[1]).filter((c): c is string => c !== undefined));
  const minus = (a: Set<string>, b: Iterable<string>) => new Set([...a].filter((x) => !new Set(b).has(x)));
  for (const lines of tables) {
    const table = lines[0]!.slice(1);
    const created = minus(names(lines, /^:(\S+)/), names(lines, /-X (\S+)/));
    const filled = names(lines, /-A (\S+)/);
    const jumped = minus(names(lines, /-j (\S+)/), BUILTIN_TARGETS);
    const missing = new Set([...minus(jumped, created), ...minus(filled, created)]);
    if (missing.size > 0) return `some chains in ${table} are used but were not created: [${[...missing].join(' ')}]`;
    const empty = minus(minus(jumped, filled), ['KUBE-NODEPORTS']);
    if (empty.size > 0) return `some chains in ${table} are jumped to but have no rules: [${[...empty].join(' ')}]`;
    const extra = minus(minus(created, jumped), FIXED_CHAINS);
    if (extra.size > 0) return `some chains in ${table} are created but not used: [${[...extra].join(' ')}]`;
  }
  return undefined;
}

/** PacketFlowTest is one row of upstream's packet-flow tables. */
export interface PacketFlowTest {
  readonly name: string;
  readonly sourceIP: string;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
  readonly destIP: string;
  readonly destPort: number;
  /** Upstream's output: endpoints (any order here, they are sorted), ACCEPT/DROP/REJECT, or ''. */
  readonly output: string;
  readonly masq?: boolean;
}

const sortOutput = (o: string) => o.split(', ').filter(Boolean).sort().join(', ');

/** runPacketFlowTests traces each flow through `ipt` and checks output and masquerading, as upstream's helper. */
export function runPacketFlowTests(t: ExecutionContext, ipt: FakeIptables, flows: readonly PacketFlowTest[], nodeIPs: readonly string[] = testNodeIPs): void {
  for (const f of flows) {
    const got = tracePacket(ipt, { sourceIP: f.sourceIP, destIP: f.destIP, destPort: f.destPort, protocol: f.protocol }, nodeIPs);
    t.deepEqual({ output: got.output, masq: got.masq }, { output: sortOutput(f.output), masq: f.masq ?? false }, `${f.name}: ${f.sourceIP} -> ${f.destIP}:${f.destPort}`);
  }
}
