import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { affinity, servicePort as baseServicePort } from '../../helpers/proxy-state-fixtures.ts';

/**
 * Compact service and endpoint specs for userspace tests, turned into full
 * ProxyState snapshots. Test addresses: pods 10.244.1.0/24, ClusterIPs
 * 10.96.0.0/16, node 192.168.50.1.
 */
export interface ServiceSpec {
  key: string;
  protocol?: 'TCP' | 'UDP';
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** ClientIP affinity timeout; undefined: no affinity. */
  affinitySeconds?: number;
  /** `ip:port` of each ready endpoint. */
  endpoints: string[];
}

export function servicePort(spec: ServiceSpec): ServicePort {
  const [nsName, portName = ''] = spec.key.split(':');
  const [namespace = '', name = ''] = nsName!.split('/');
  return baseServicePort(namespace, name, {
    portName,
    protocol: spec.protocol ?? 'TCP',
    type: spec.nodePort ? 'NodePort' : 'ClusterIP',
    clusterIPs: [spec.clusterIP],
    port: spec.port,
    nodePort: spec.nodePort ?? 0,
    sessionAffinity: affinity(spec.affinitySeconds),
  });
}

export function endpoint(address: string): Endpoint {
  const sep = address.lastIndexOf(':');
  return { ip: address.slice(0, sep), port: Number(address.slice(sep + 1)), ready: true, serving: true, terminating: false, nodeName: 'node', isLocal: true };
}

/** proxyState builds a snapshot where every service counts as changed. */
export function proxyState(specs: readonly ServiceSpec[]): ProxyState {
  return {
    nodeName: 'node',
    nodeLabels: {},
    services: new Map(specs.map((s) => [s.key, servicePort(s)])),
    endpoints: new Map(specs.map((s) => [s.key, s.endpoints.map(endpoint)])),
    changed: new Set(specs.map((s) => s.key)),
    udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() },
    triggerTimes: new Map(),
  };
}
