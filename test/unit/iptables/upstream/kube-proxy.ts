import type { ExecutionContext } from 'ava';
import type { Endpoint, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { NFACCT_COUNTERS } from '../../../../src/iptables/fixed-chains.ts';
import type { IptablesHostFeatures } from '../../../../src/iptables/host-features.ts';
import { nodePortTargets } from '../../../../src/iptables/node-ports.ts';
import { renderRules, type RenderOptions } from '../../../../src/iptables/render.ts';
import { FakeIptables, tracePacket } from '../../../helpers/iptables-tracer.ts';
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
 * Ported (overall.test.ts, flows.test.ts, policies.test.ts, repeated.test.ts,
 * large-cluster.test.ts, and TestEndpointSliceE2E's chains in ../render-golden.test.ts):
 * TestOverallIPTablesRules, TestTracePacket, TestNoEndpointsReject,
 * TestClusterIPGeneral, TestLoadBalancer, TestNodePorts (IPv4 and IPv6),
 * TestHealthCheckNodePort, TestDropInvalidRule, TestMasqueradeRule,
 * TestExternalTrafficPolicyLocal/Cluster, TestInternalTrafficPolicy,
 * TestTerminatingEndpointsTrafficPolicyLocal/Cluster,
 * TestInternalExternalMasquerade, TestSyncProxyRulesRepeated,
 * TestSyncProxyRulesLargeClusterMode.
 *
 * Not ported, and why (per-case omissions are listed in each file):
 * - Change-tracker tests (TestBuildServiceMap*, TestUpdateEndpointsMap, ...)
 *   and TestHealthCheckNodePortWhenTerminating: they expect tracker and
 *   health-server state, not rules; Ferry's own tests of those live in
 *   test/unit/endpoints.
 * - TestProxierMetricsIPTablesTotalRules, TestNoEndpointsMetric: metric
 *   values, not rules or packet flows.
 * - TestDeleteEndpointConnections*: conntrack command lines, which Ferry
 *   tests in its own conntrack tests.
 *
 * Configuration: upstream's fake proxier has both its nfacct counters, and
 * so do these tests (upstreamOptions; `nfacct: false` is TestDropInvalidRule's
 * case without them): the ctstate INVALID drop counts into
 * ct_state_invalid_dropped_pkts, and each NodePort has the extra rule that
 * counts localhost packets into localhost_nps_accepted_pkts, as upstream's
 * dumps have them. Upstream's fake iptables has no --random-fully, nor has
 * UPSTREAM_HOST.
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
