import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

/**
 * What the EndpointSlice and Endpoints controllers share: which pods back a
 * Service, the readiness conditions kube-controller-manager derives from a
 * pod (`podToEndpoint`, `ShouldPodBeInEndpoints`) and how a service port's
 * targetPort resolves against a pod's container ports.
 */

/** ResolvedPort is one service port as it applies to one pod. */
export interface ResolvedPort {
  /** The service port's name ('' when the service has a single unnamed port). */
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** selectorMatches is the Service selector rule: every key=value pair of a non-empty map. */
export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** isPodReady reads the pod's Ready condition. */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * shouldPodBeInEndpoints is kube's rule: a pod needs an IP and must not be
 * terminal (Succeeded/Failed); a terminating pod is kept only when the caller
 * includes terminating endpoints (EndpointSlices always do; legacy Endpoints
 * only with publishNotReadyAddresses).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (!pod.status?.podIP) return false;
  const phase = pod.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** EndpointConditions follow discovery/v1: serving = pod Ready; ready = publishNotReady || (serving && !terminating). */
export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export function podConditions(pod: Pod, publishNotReadyAddresses: boolean): EndpointConditions {
  const serving = isPodReady(pod);
  const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  return { serving, terminating, ready: publishNotReadyAddresses || (serving && !terminating) };
}

/**
 * findPort resolves a service port's targetPort on a pod: a number is used as
 * is; a name is looked up among the containers' ports with the same protocol.
 * Undefined means the pod does not expose that named port (kube then leaves
 * the port out for that pod).
 */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  const asNumber = Number(target);
  if (target !== '' && Number.isInteger(asNumber)) return asNumber;
  const protocol = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** resolvePorts maps every service port that resolves on the pod; the order follows the service. */
export function resolvePorts(service: Service, pod: Pod): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const resolved: ResolvedPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) resolved.appProtocol = sp.appProtocol;
    out.push(resolved);
  }
  return out;
}

/** portsKey identifies a set of resolved ports; pods with equal keys share slices (subsets). */
export function portsKey(ports: readonly ResolvedPort[]): string {
  return ports
    .map((p) => `${p.name}/${p.protocol}/${p.port}/${p.appProtocol ?? ''}`)
    .sort()
    .join(',');
}

/** podHostname is the endpoint hostname kube sets: the pod's hostname when its subdomain is the service. */
export function podHostname(pod: Pod, service: Service): string | undefined {
  const hostname = pod.spec?.hostname;
  if (hostname && pod.spec?.subdomain === service.metadata?.name && pod.metadata?.namespace === service.metadata?.namespace) return hostname;
  return undefined;
}

/** servicePods returns the pods a Service selects (same namespace, selector match). */
export function servicePods(service: Service, pods: readonly Pod[]): Pod[] {
  const selector = service.spec?.selector;
  if (!selector) return [];
  const ns = service.metadata?.namespace;
  return pods.filter((p) => p.metadata?.namespace === ns && selectorMatches(selector, p.metadata?.labels));
}
