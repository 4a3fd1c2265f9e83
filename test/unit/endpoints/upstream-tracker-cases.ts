import type { ExecutionContext } from 'ava';
import type { Service, ServicePort as ApiServicePort } from 'kubernetes-types/core/v1.js';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';

/*
 * The bodies of kube-proxy's TestBuildServiceMap* tests, which upstream's
 * iptables and IPVS proxier tests each carry with their own addresses and
 * ports; both ports (upstream-trackers.test.ts here, ipvs/upstream/trackers.test.ts)
 * run them through Ferry's one tracker with their file's data.
 */

export const port = (name: string, protocol: string, p: number, nodePort: number, targetPort = 0): ApiServicePort => ({ name, protocol, port: p, nodePort, targetPort });
export const make = (namespace: string, name: string, spec: Service['spec'], lbIP?: string): Service => ({
  metadata: { namespace, name }, spec, ...(lbIP ? { status: { loadBalancer: { ingress: [{ ip: lbIP }] } } } : {}),
});
/** healthCheckNodePorts is upstream's svcPortMap.HealthCheckNodePorts(): per service, its port. */
export const healthCheckNodePorts = (state: ProxyState) =>
  Object.fromEntries([...state.services.values()].filter((s) => s.healthCheckNodePort > 0).map((s) => [`${s.namespace}/${s.name}`, s.healthCheckNodePort]));

/**
 * buildServiceMapAddRemove: `services` added (`ports` service ports, one
 * health check node port), then services[0] replaced by `replacement` and the
 * rest deleted: the UDP cluster IPs reported stale are `stale`.
 */
export function buildServiceMapAddRemove(t: ExecutionContext, hostname: string, services: readonly Service[], ports: number, replacement: Service, stale: readonly string[]): void {
  const b = new ProxyStateBuilder(hostname);
  for (const s of services) b.onServiceChange(undefined, s);
  let state = b.build();
  t.is(state.services.size, ports);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!], [], 'services only added, so nothing stale yet');
  t.deepEqual(healthCheckNodePorts(state), { 'somewhere/only-local-load-balancer': 345 });
  b.syncSucceeded();
  b.onServiceChange(services[0], replacement);
  for (const s of services.slice(1)) b.onServiceChange(s, undefined);
  state = b.build();
  t.is(state.services.size, 1);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!].sort(), stale);
  t.deepEqual(healthCheckNodePorts(state), {});
}

/** buildServiceMapSkipped: services the tracker keeps no port of (headless, ExternalName). */
export function buildServiceMapSkipped(t: ExecutionContext, hostname: string, services: readonly Service[]): void {
  const b = new ProxyStateBuilder(hostname);
  for (const s of services) b.onServiceChange(undefined, s);
  const state = b.build();
  t.is(state.services.size, 0);
  t.deepEqual([...state.udpConntrack.deletedClusterIPs!], []);
  t.deepEqual(healthCheckNodePorts(state), {});
}

/** buildServiceMapServiceUpdate: a two-port ClusterIP service becomes a Local LoadBalancer (`v2`) and back. */
export function buildServiceMapServiceUpdate(t: ExecutionContext, hostname: string, v1: Service, v2: Service): void {
  const b = new ProxyStateBuilder(hostname);
  const step = (previous: Service | undefined, current: Service, hc: Record<string, number>, what: string) => {
    b.onServiceChange(previous, current);
    const state = b.build();
    t.is(state.services.size, 2, what);
    t.deepEqual([...state.udpConntrack.deletedClusterIPs!], [], `${what}: no stale UDP cluster IPs`);
    t.deepEqual(healthCheckNodePorts(state), hc, what);
    b.syncSucceeded();
  };
  step(undefined, v1, {}, 'added as ClusterIP');
  step(v1, v2, { 'somewhere/some-service': 345 }, 'changed to LoadBalancer');
  step(v2, v2, { 'somewhere/some-service': 345 }, 'no change');
  step(v2, v1, {}, 'back to ClusterIP');
}
