import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { affinity, servicePort as baseServicePort, proxyConfig as testProxyConfig } from '../../helpers/proxy-state-fixtures.ts';

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
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly endpoints: ReadonlyArray<{ ip: string; port: number; local?: boolean }>;
}

export function servicePort(s: ServiceSpec): ServicePort {
  return baseServicePort(s.namespace ?? 'default', s.name, {
    portName: '',
    protocol: s.protocol ?? 'TCP',
    type: s.nodePort ? 'NodePort' : 'ClusterIP',
    clusterIPs: [s.clusterIP],
    port: s.port,
    nodePort: s.nodePort ?? 0,
    externalIPs: s.externalIPs ?? [],
    sessionAffinity: affinity(s.affinitySeconds),
    externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster',
  });
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
  return testProxyConfig({ mode: 'ipvs', iptablesBackend: 'legacy', ...overrides });
}
