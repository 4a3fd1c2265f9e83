/**
 * Synthetic clusters for the proxier benchmarks (iptables, nftables): service
 * i is `bench/svc-<i>:http`, ClusterIP 172.20+.x.y port 80 (inside the
 * scratch namespace only), with `perService` endpoints 10.x.y.z, all on this
 * node. Changing an endpoint's generation changes its port, so a change is a
 * new endpoint for every backend.
 */
import type { ProxyConfig } from '../../src/endpoints/proxy-config.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../src/endpoints/proxy-state.ts';

export const BENCH_NODE = 'bench';

export function benchService(i: number): ServicePort {
  const name = `svc-${i}`;
  return {
    key: `bench/${name}:http`, namespace: 'bench', name, portName: 'http', protocol: 'TCP', type: 'ClusterIP',
    clusterIPs: [`172.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`], port: 80, nodePort: 0, externalIPs: [], loadBalancerIPs: [],
    loadBalancerSourceRanges: [], sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
  };
}

export function benchEndpoints(i: number, perService: number, generation = 0): Endpoint[] {
  return Array.from({ length: perService }, (_, j) => {
    const n = i * perService + j;
    return { ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 8080 + generation, ready: true, serving: true, terminating: false, isLocal: true };
  });
}

/** BenchCluster is the mutable desired state a benchmark changes between syncs. */
export interface BenchCluster {
  readonly services: Map<string, ServicePort>;
  readonly endpoints: Map<string, Endpoint[]>;
}

export function benchCluster(services: number, perService: number): BenchCluster {
  const cluster: BenchCluster = { services: new Map(), endpoints: new Map() };
  for (let i = 0; i < services; i++) {
    const s = benchService(i);
    cluster.services.set(s.key, s);
    cluster.endpoints.set(s.key, benchEndpoints(i, perService));
  }
  return cluster;
}

/** snapshot copies the maps: a ProxyState is immutable, and a bench keeps changing the cluster while a sync runs. */
export function snapshot(cluster: BenchCluster, changed: Iterable<string>): ProxyState {
  return {
    nodeName: BENCH_NODE, nodeLabels: {}, services: new Map(cluster.services), endpoints: new Map(cluster.endpoints), changed: new Set(changed),
    udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() }, triggerTimes: new Map(),
  };
}

/** benchProxyConfig is `ferry proxy`'s configuration for a synthetic cluster: pods 10.0.0.0/8, syncs only when the bench asks. */
export function benchProxyConfig(mode: string, iptablesBackend: 'nft' | 'legacy' | undefined = undefined): ProxyConfig {
  return {
    mode, nodeName: BENCH_NODE, clusterCIDRs: ['10.0.0.0/8'], masqueradeAll: false, masqueradeBit: 14, nodePortAddresses: [], localhostNodePorts: false,
    syncPeriodMs: 3_600_000, minSyncPeriodMs: 0, iptablesBackend, ipvsScheduler: 'rr', ipvsTcpTimeoutMs: 0,
    ipvsTcpFinTimeoutMs: 0, ipvsUdpTimeoutMs: 0, proxyPortRange: undefined, udpIdleTimeoutMs: 250, conntrackTCPBeLiberal: false, ipvsExcludeCIDRs: [],
  };
}

/** noIptablesMetrics stands in for the iptables proxier's metrics, which the benchmarks do not read. */
export const noIptablesMetrics = { iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc() {} }, iptablesRulesTotal: { set() {} }, iptablesRulesLastSync: { set() {} } };

/** oneEndpointChanged replaces the first endpoint by a new one (another port: another ip:port), the others unchanged. */
export function oneEndpointChanged(endpoints: readonly Endpoint[], generation: number): Endpoint[] {
  return endpoints.map((e, j) => (j === 0 ? { ...e, port: 9000 + generation } : e));
}
