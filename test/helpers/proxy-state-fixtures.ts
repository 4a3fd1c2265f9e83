import type { ProxyConfig } from '../../src/endpoints/proxy-config.ts';
import { servicePortKey, type Endpoint, type ProxyState, type ServicePort, type SessionAffinity } from '../../src/endpoints/proxy-state.ts';

/**
 * servicePort builds a ServicePort as the watcher would for a plain ClusterIP
 * TCP service `namespace/name:portName` on port 80 (portName defaults to
 * 'p80'); overrides replace any field, and the key follows the parts.
 */
export function servicePort(namespace: string, name: string, over: Partial<ServicePort> = {}): ServicePort {
  const portName = over.portName ?? 'p80';
  return {
    namespace,
    name,
    portName,
    protocol: 'TCP',
    type: 'ClusterIP',
    clusterIPs: [],
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    ...over,
    key: servicePortKey(over.namespace ?? namespace, over.name ?? name, portName),
  };
}

/** proxyState builds a snapshot from (service, endpoints) pairs; `changed` defaults to every service. */
export function proxyState(entries: ReadonlyArray<readonly [ServicePort, readonly Endpoint[]]>, changed?: readonly string[], nodeName = 'node1'): ProxyState {
  return {
    nodeName,
    nodeLabels: {},
    services: new Map(entries.map(([s]) => [s.key, s])),
    endpoints: new Map(entries.map(([s, e]) => [s.key, e])),
    changed: new Set(changed ?? entries.map(([s]) => s.key)),
    udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() },
    triggerTimes: new Map(),
  };
}

/** affinity is ClientIP affinity with the timeout, or None when undefined. */
export function affinity(timeoutSeconds: number | undefined): SessionAffinity {
  return timeoutSeconds ? { type: 'ClientIP', timeoutSeconds } : { type: 'None' };
}

/**
 * proxyConfig is `ferry proxy`'s defaults (kube-proxy's) for a test node
 * `node` with pods in 10.244.0.0/16, in iptables mode; overrides replace fields.
 */
export function proxyConfig(over: Partial<ProxyConfig> = {}): ProxyConfig {
  return {
    mode: 'iptables',
    nodeName: 'node',
    clusterCIDRs: ['10.244.0.0/16'],
    masqueradeAll: false,
    masqueradeBit: 14,
    nodePortAddresses: [],
    localhostNodePorts: true,
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 1_000,
    iptablesBackend: undefined,
    ipvsScheduler: 'rr',
    ipvsTcpTimeoutMs: 0,
    ipvsTcpFinTimeoutMs: 0,
    ipvsUdpTimeoutMs: 0,
    proxyPortRange: undefined,
    udpIdleTimeoutMs: 250,
    conntrackTCPBeLiberal: false,
    ipvsExcludeCIDRs: [],
    ...over,
  };
}
