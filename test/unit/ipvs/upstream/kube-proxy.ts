import test from 'ava';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IPFamily } from '../../../../src/endpoints/node-port-addresses.ts';
import { ProxyStateBuilder } from '../../../../src/endpoints/state-builder.ts';
import { DesiredIndex, splitSetKey } from '../../../../src/ipvs/desired-index.ts';
import { destKey, type SetName } from '../../../../src/ipvs/desired.ts';
import { applyOp, diffVirtualServer, type KernelVirtualServer } from '../../../../src/ipvs/diff.ts';
import { GracefulTermination } from '../../../../src/ipvs/graceful.ts';
import { nodePortAddresses } from '../../../../src/ipvs/host.ts';
import { renderRules } from '../../../../src/ipvs/iptables.ts';

/**
 * Shared setup of the tests ported from kube-proxy's IPVS proxier tests.
 * Source:
 *   kubernetes pkg/proxy/ipvs/proxier_test.go (and proxier.go for the facts
 *   behind them), as carried by aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212.
 *
 * Upstream's Services and EndpointSlices go in as objects, through Ferry's
 * own ProxyStateBuilder; upstream's fake IPVS becomes Ferry's kernel model
 * (diff.ts operations applied one by one, graceful termination run with no
 * connections, as upstream's fake has none); its fake ipsets become the
 * desired index's entries; its fake iptables becomes renderRules' text,
 * read back per chain (nat, then filter, as upstream's getRules reads them).
 *
 * Upstream's fake proxier, in Ferry's terms: node `test-hostname`, scheduler
 * rr, no cluster CIDR (its NoOpLocalDetector), no --masquerade-all, masquerade
 * bit 14, no --random-fully, no primary node IP (its nodeIP is nil), host
 * addresses as the case gives them (its fake netlink handle and network
 * interfacer), NodePort addresses from them by --nodeport-addresses.
 *
 * Every `func Test...` in that file and what became of it:
 *
 * Ported (virtual-servers.test.ts, rules.test.ts, sync.test.ts,
 * can-use.test.ts, ipv6.test.ts, cleanup.test.ts, trackers.test.ts,
 * clean-legacy.test.ts):
 *   TestBuildServiceMapAddRemove, TestBuildServiceMapServiceHeadless,
 *   TestBuildServiceMapServiceTypeExternalName,
 *   TestBuildServiceMapServiceUpdate, Test_HealthCheckNodePortWhenTerminating,
 *   TestCleanupLeftovers, TestCanUseIPVSProxier, TestGetNodeIPs,
 *   TestNodePortIPv4, TestNodePortIPv6, Test_syncEndpoint_updateWeightsOnRestart,
 *   TestIPv4Proxier, TestIPv6Proxier, TestMasqueradeRule, TestExternalIPsNoEndpoint,
 *   TestExternalIPs, TestOnlyLocalExternalIPs, TestLoadBalancer,
 *   TestOnlyLocalNodePorts, TestHealthCheckNodePort,
 *   TestLoadBalancerSourceRanges, TestAcceptIPVSTraffic,
 *   TestOnlyLocalLoadBalancing, TestSessionAffinity, Test_syncService,
 *   TestMultiPortServiceBindAddr, TestEndpointSliceE2E,
 *   TestHealthCheckNodePortE2E, TestCreateAndLinkKubeChain,
 *   TestTestInternalTrafficPolicyE2E,
 *   Test_EndpointSliceReadyAndTerminatingCluster,
 *   Test_EndpointSliceReadyAndTerminatingLocal,
 *   Test_EndpointSliceOnlyReadyAndTerminatingCluster,
 *   Test_EndpointSliceOnlyReadyAndTerminatingLocal, TestIpIsValidForSet,
 *   TestNoEndpointsMetric, TestDismissLocalhostRuleExist,
 *   TestLoadBalancerIngressRouteTypeProxy (its three gate-on cases),
 *   TestCleanLegacyService, TestCleanLegacyServiceWithRealServers,
 *   TestCleanLegacyRealServersExcludeCIDRs, TestCleanLegacyService6,
 *   TestFilterCIDRs (--ipvs-exclude-cidrs, over IpvsProxier and the fake
 *   node in fake-host.ts rather than this file's FakeNode).
 *
 * The IPv6 tests run the IPv6 proxier's state builder, desired state, KUBE-6-
 * sets and ip6tables rules (a dual-stack node runs one IPVS proxier per
 * family, as kube-proxy's NewDualStackProxier).
 *
 * TestCanUseIPVSProxier's check runs before the proxier's first full sync
 * (kube-proxy runs it before it starts; Ferry's factory touches no IPVS, which
 * the proxier opens at its first full sync, and checks it there).
 *
 * Left out, and why:
 * - TestLoadBalancerIngressRouteTypeProxy's 3 gate-off cases: LoadBalancerIPMode
 *   is GA and locked on in the kube-proxy carried here (the test must emulate
 *   1.31 to turn it off); Ferry, like it, always honours ipMode and refuses
 *   featureGates.LoadBalancerIPMode: false.
 * - Test_getFirstColumn: parses /proc/modules for kube-proxy's module check;
 *   Ferry has no module check (it resolves the netlink family instead).
 *
 * Covered elsewhere: Test_updateEndpointsMap is the iptables proxier's
 * TestUpdateEndpointsMap table (the same 15 cases) for the change tracker
 * every mode shares; it is ported in test/unit/endpoints/upstream-trackers.test.ts.
 */
export const SOURCE = 'kubernetes pkg/proxy/ipvs/proxier_test.go @ aroradaman/kubernetes@4177b600d4b97a67b765a18ddeeb295ef757b212';

export const testHostname = 'test-hostname';

/** A Service as upstream's makeTestService builds it (annotations and status empty). */
export function makeTestService(namespace: string, name: string, spec: NonNullable<Service['spec']>, status: Service['status'] = {}): Service {
  return { metadata: { namespace, name, annotations: {} }, spec, status };
}

export interface TestEndpoint {
  readonly addresses: string[];
  readonly nodeName?: string;
  readonly conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
}

/** An EndpointSlice as upstream's makeTestEndpointSlice builds it: `<name>-<n>`, labelled for service `name`. */
export function makeTestEndpointSlice(namespace: string, name: string, sliceNum: number, slice: { addressType?: 'IPv4' | 'IPv6'; endpoints: TestEndpoint[]; ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }> }): EndpointSlice {
  return {
    metadata: { namespace, name: `${name}-${sliceNum}`, labels: { 'kubernetes.io/service-name': name } },
    addressType: slice.addressType ?? 'IPv4',
    endpoints: slice.endpoints.map((e) => ({ addresses: e.addresses, ...(e.nodeName ? { nodeName: e.nodeName } : {}), ...(e.conditions ? { conditions: e.conditions } : {}) })),
    ports: slice.ports,
  };
}

export interface FakeNodeOptions {
  /** The node's addresses off kube-ipvs0 (upstream's nodeIPs, or its fake network interfaces). */
  readonly hostAddresses?: readonly string[];
  /** --nodeport-addresses. */
  readonly nodePortAddresses?: readonly string[];
  readonly scheduler?: string;
  readonly masqueradeAll?: boolean;
  readonly randomFully?: boolean;
  /** The proxier's IP family (upstream's NewFakeProxier ipFamily); 4 by default. */
  readonly family?: IPFamily;
}

/** A virtual server as upstream's fake IPVS shows it, with its real servers as `ip:port` (weight 1 unless said). */
export interface FakeVirtualServer {
  readonly scheduler: string;
  readonly flags: number;
  readonly timeout: number;
  readonly dests: string[];
}

const DUMMY_INDEX = 9;

/**
 * FakeNode is one node's IPVS proxier without the kernel: the state builder
 * fed upstream's objects, the desired index, and a kernel model that the
 * diff operations are applied to, as IpvsProxier does.
 */
export class FakeNode {
  readonly builder: ProxyStateBuilder;
  readonly kernel = new Map<string, KernelVirtualServer>();
  readonly bound = new Set<string>();
  private desired = new DesiredIndex();
  private readonly graceful = new GracefulTermination(15 * 60_000);
  private synced = false;
  private readonly o: FakeNodeOptions;
  private readonly nodeIPs: string[];

  constructor(o: FakeNodeOptions = {}) {
    this.o = o;
    this.builder = new ProxyStateBuilder(testHostname, o.family ?? 4);
    const addresses = (o.hostAddresses ?? []).map((address) => ({ index: 2, address, prefixLength: address.includes(':') ? 64 : 24 }));
    this.nodeIPs = nodePortAddresses(addresses, DUMMY_INDEX, o.nodePortAddresses ?? []);
  }

  addServices(...services: Service[]): this {
    for (const s of services) this.builder.onServiceChange(undefined, s);
    return this;
  }

  addSlices(...slices: EndpointSlice[]): this {
    for (const s of slices) this.builder.onEndpointSliceChange(s, false);
    return this;
  }

  /** sync is one syncProxyRules: a full sync the first time, then partial ones. */
  sync(): void {
    const state = this.builder.build();
    // As IpvsProxier: the primary node IP is the Node's IPv4 address (upstream's fake has none: its nodeIP is nil).
    const primaryNodeIP = state.nodeIPs?.find((ip) => ip.includes(':') === (this.o.family === 6));
    const opts = { scheduler: this.o.scheduler ?? 'rr', nodeIPs: this.nodeIPs, hostAddresses: new Set(this.o.hostAddresses ?? []), primaryNodeIP };
    const touched = new Set<string>();
    const keys = this.synced ? state.changed : state.services.keys();
    if (!this.synced) {
      this.desired = new DesiredIndex();
      for (const k of this.kernel.keys()) touched.add(k);
    }
    for (const key of keys) this.desired.update(key, state, opts, touched);
    const addrs = this.desired.addresses.drain();
    this.desired.setEntries.drain();
    for (const a of addrs.appeared) this.bound.add(a);
    for (const a of addrs.vanished) this.bound.delete(a);
    this.apply(touched);
    this.builder.syncSucceeded();
    this.synced = true;
  }

  /** apply sends each virtual server's operations to the kernel model, then deletes the terminating real servers (none has connections). */
  private apply(touched: Iterable<string>): void {
    for (const key of touched) {
      for (const op of diffVirtualServer(this.desired.virtualServers.get(key), this.kernel.get(key))) {
        applyOp(this.kernel, key, op);
        if (op.kind === 'setDest' && op.terminating) this.graceful.start(key, destKey(op.dest.address, op.dest.port), 0);
      }
    }
    for (const key of this.graceful.virtualServers()) {
      const k = this.kernel.get(key);
      if (!k) continue;
      const status = [...k.dests.values()].map((d) => ({ ...d, activeConns: 0, inactiveConns: 0, persistConns: 0 }));
      for (const d of this.graceful.due(key, status, 0)) {
        applyOp(this.kernel, key, { kind: 'delDest', service: k.service, dest: d });
        this.graceful.stop(key, destKey(d.address, d.port));
      }
    }
  }

  /** ipvs is the kernel model as upstream's fake IPVS: `ip:port/PROTO` → virtual server. */
  ipvs(): Record<string, FakeVirtualServer> {
    const out: Record<string, FakeVirtualServer> = {};
    for (const { service: s, dests } of this.kernel.values()) {
      const rs = [...dests.values()].map((d) => `${d.address}:${d.port}${d.weight === 1 ? '' : ` w${d.weight}`}`).sort();
      out[`${s.address}:${s.port}/${s.protocol}`] = { scheduler: s.scheduler, flags: s.flags, timeout: s.timeout, dests: rs };
    }
    return out;
  }

  /** ipset lists one set's entries, sorted (upstream's checkIPSet sorts too). */
  ipset(set: SetName): string[] {
    return [...this.desired.setEntries.keys()].map(splitSetKey).filter(([s]) => s === set).map(([, e]) => e).sort();
  }

  /** rules is the iptables-restore text a sync writes (without the jumps into built-in chains). */
  rules(): string {
    const d = this.desired;
    return renderRules({
      masqueradeAll: this.o.masqueradeAll ?? false, clusterCIDRs: [], masqueradeBit: 14, randomFully: this.o.randomFully ?? false,
      setSize: (set) => d.setSize(set), noNodeAccess: d.noNodeAccess(), rejects: d.rejects(), jumps: [], family: this.o.family ?? 4,
    });
  }
}

/** ChainRule is what upstream's checkIptables compares: the jump and the matched set ('' for none). */
export interface ChainRule {
  readonly jump: string;
  readonly matchSet?: string;
  readonly source?: string;
}

/** chainRules reads one chain's rules from restore text, nat before filter, as upstream's getRules. */
export function chainRules(text: string, chain: string): ChainRule[] {
  // renderRules writes the nat table first.
  return text
    .split('\n')
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => {
      const source = /(?:^| )-s (\S+)/.exec(l)?.[1];
      return { jump: /-j (\S+)/.exec(l)![1]!, matchSet: /--match-set (\S+)/.exec(l)?.[1] ?? '', ...(source ? { source } : {}) };
    });
}

/** rule builds an expected ChainRule as upstream writes them: JumpChain and MatchSet ('' for none). */
export const rule = (jump: string, matchSet = '', source?: string): ChainRule => ({ jump, matchSet, ...(source ? { source } : {}) });

/** vs is an expected virtual server as upstream's fake IPVS shows it: scheduler rr, no flags, these real servers. */
export const vs = (...dests: string[]): FakeVirtualServer => ({ scheduler: 'rr', flags: 0, timeout: 0, dests });

/** p80 is upstream's port `p80` (80) of a Service or EndpointSlice. */
export const p80 = (protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP') => [{ name: 'p80', port: 80, protocol }];

/** ProxierCase is a case of TestIPv4Proxier or TestIPv6Proxier: the objects and the virtual servers one family's proxier makes of them. */
export interface ProxierCase {
  readonly name: string;
  readonly services: Service[];
  readonly endpoints: EndpointSlice[];
  readonly ipvs: Record<string, FakeVirtualServer>;
}

/** NodePortCase is a case of TestNodePortIPv4 or TestNodePortIPv6: a ProxierCase on a node with these addresses and --nodeport-addresses. */
export interface NodePortCase extends ProxierCase {
  readonly nodeIPs: string[];
  readonly nodePortAddresses: string[];
  /** Entries of some ipsets (by their IPv4 name), in any order. */
  readonly ipsets?: Partial<Record<SetName, string[]>>;
  readonly chains?: Record<string, ChainRule[]>;
}

/** testCases runs upstream's table test `name` for one family's proxier: a sync, then the virtual servers, ipsets and chains the case lists. */
export function testCases(name: string, family: IPFamily, cases: ReadonlyArray<ProxierCase | NodePortCase>): void {
  for (const c of cases) {
    test(`${name}: ${c.name}`, (t) => {
      const host = 'nodeIPs' in c ? { hostAddresses: c.nodeIPs, nodePortAddresses: c.nodePortAddresses } : {};
      const node = new FakeNode({ family, ...host }).addServices(...c.services).addSlices(...c.endpoints);
      node.sync();
      t.deepEqual(node.ipvs(), c.ipvs);
      if (!('nodeIPs' in c)) return;
      for (const [set, entries] of Object.entries(c.ipsets ?? {}) as Array<[SetName, string[]]>) t.deepEqual(node.ipset(set), [...entries].sort(), set);
      for (const [chain, rules] of Object.entries(c.chains ?? {})) t.deepEqual(chainRules(node.rules(), chain), rules, chain);
    });
  }
}

/** TestIPv4Proxier's and TestIPv6Proxier's first case: an IPv4 and an IPv6 ClusterIP service, each with an endpoint of its family. */
export const twoFamilyServices = (): Pick<ProxierCase, 'services' | 'endpoints'> => ({
  services: [
    makeTestService('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    makeTestService('ns2', 'svc2', { clusterIP: '1002:ab8::2:1', ports: [{ name: 'p8080', port: 8080, protocol: 'TCP' }] }),
  ],
  endpoints: [
    makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: p80() }),
    makeTestEndpointSlice('ns2', 'svc2', 1, { addressType: 'IPv6', endpoints: [{ addresses: ['1009:ab8::5:6'] }], ports: [{ name: 'p8080', port: 8080, protocol: 'TCP' }] }),
  ],
});
