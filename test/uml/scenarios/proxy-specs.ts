import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';

/**
 * Compact service descriptions for UML scenarios and the IPVS benchmark,
 * turned into ProxyState snapshots the way the watcher would build them.
 * They travel as JSON between a scenario and the proxier driver it runs in
 * the node namespace.
 */
export interface ServiceSpec {
  readonly namespace?: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly nodePort?: number;
  readonly externalIPs?: string[];
  readonly affinitySeconds?: number;
  readonly endpoints: ReadonlyArray<{ ip: string; port: number; local?: boolean }>;
}

export function servicePort(s: ServiceSpec): ServicePort {
  const namespace = s.namespace ?? 'default';
  return {
    key: `${namespace}/${s.name}:`,
    namespace,
    name: s.name,
    portName: '',
    protocol: s.protocol ?? 'TCP',
    type: s.nodePort ? 'NodePort' : 'ClusterIP',
    clusterIPs: [s.clusterIP],
    port: s.port,
    nodePort: s.nodePort ?? 0,
    externalIPs: s.externalIPs ?? [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: s.affinitySeconds ? { type: 'ClientIP', timeoutSeconds: s.affinitySeconds } : { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
  };
}

function endpoints(s: ServiceSpec): Endpoint[] {
  return s.endpoints.map((e) => ({ ip: e.ip, port: e.port, ready: true, serving: true, terminating: false, isLocal: e.local ?? true, nodeName: 'node' }));
}

/**
 * StateBuilder turns successive lists of specs into snapshots whose `changed`
 * set holds exactly the service ports that differ from the previous list.
 */
export class StateBuilder {
  private previous = new Map<string, string>();

  next(specs: readonly ServiceSpec[]): ProxyState {
    const services = new Map<string, ServicePort>();
    const eps = new Map<string, readonly Endpoint[]>();
    const current = new Map<string, string>();
    for (const s of specs) {
      const sp = servicePort(s);
      services.set(sp.key, sp);
      eps.set(sp.key, endpoints(s));
      current.set(sp.key, JSON.stringify(s));
    }
    const changed = new Set<string>();
    for (const [k, v] of current) if (this.previous.get(k) !== v) changed.add(k);
    for (const k of this.previous.keys()) if (!current.has(k)) changed.add(k);
    this.previous = current;
    return {
      nodeName: 'node',
      nodeLabels: {},
      services,
      endpoints: eps,
      changed,
      udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() },
      triggerTimes: new Map(),
    };
  }
}

export function proxyConfig(overrides: Partial<ProxyConfig> = {}): ProxyConfig {
  return {
    mode: 'ipvs',
    nodeName: 'node',
    clusterCIDRs: ['10.244.0.0/16'],
    masqueradeAll: false,
    masqueradeBit: 14,
    nodePortAddresses: [],
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 1_000,
    iptablesBackend: 'legacy',
    ipvsScheduler: 'rr',
    ipvsTcpTimeoutMs: 0,
    ipvsTcpFinTimeoutMs: 0,
    ipvsUdpTimeoutMs: 0,
    proxyPortRange: undefined,
    udpIdleTimeoutMs: 250,
    ...overrides,
  };
}
