import type { Container, EnvVar, Pod, Service } from 'kubernetes-types/core/v1.js';

/**
 * A container's environment as kubelet builds it (`kubelet_pods.go`
 * `makeEnvironmentVariables`): the service variables of the pod's namespace
 * (and of the `kubernetes` Service in default), docker-link style variables,
 * then the container's own `env` with `valueFrom.fieldRef` and `$(VAR)`
 * expansion. Secrets, config maps and resource fields are not supported in
 * the lab; such variables are reported as errors.
 */

const envName = (svc: string) => svc.toUpperCase().replace(/-/g, '_');

/** serviceEnv lists the {SVC}_SERVICE_HOST/PORT and {SVC}_PORT_* variables of the services given. */
export function serviceEnv(services: readonly Service[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const name = envName(svc.metadata?.name ?? '');
    const ports = svc.spec?.ports ?? [];
    const first = ports[0];
    if (!first) continue;
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(first.port);
    for (const p of ports) if (p.name) env[`${name}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const proto = (first.protocol ?? 'TCP').toLowerCase();
    env[`${name}_PORT`] = `${proto}://${ip}:${first.port}`;
    for (const p of ports) {
      const pr = (p.protocol ?? 'TCP').toLowerCase();
      const prefix = `${name}_PORT_${p.port}_${pr.toUpperCase()}`;
      env[prefix] = `${pr}://${ip}:${p.port}`;
      env[`${prefix}_PROTO`] = pr;
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}

/** visibleServices picks the services whose variables a pod gets (enableServiceLinks, plus the master service). */
export function visibleServices(pod: Pod, services: readonly Service[]): Service[] {
  const ns = pod.metadata?.namespace ?? 'default';
  const links = pod.spec?.enableServiceLinks !== false;
  return services.filter((s) => (links && s.metadata?.namespace === ns) || (s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes'));
}

/** fieldValue resolves a downward-API fieldRef path. */
function fieldValue(pod: Pod, path: string, podIP: string, hostIP: string): string | undefined {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return (label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[label[2]!];
  switch (path) {
    case 'metadata.name': return pod.metadata?.name;
    case 'metadata.namespace': return pod.metadata?.namespace;
    case 'metadata.uid': return pod.metadata?.uid;
    case 'spec.nodeName': return pod.spec?.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP': case 'status.podIPs': return podIP;
    case 'status.hostIP': case 'status.hostIPs': return hostIP;
    default: return undefined;
  }
}

/** expand is kubelet's $(VAR) expansion: known names are replaced, $$ escapes, unknown references stay as written. */
export function expand(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? m)));
}

export interface EnvResult {
  env: Record<string, string>;
  /** Variables that could not be resolved, as kubelet's CreateContainerConfigError message. */
  errors: string[];
}

export function containerEnv(pod: Pod, c: Container, services: readonly Service[], podIP: string, hostIP: string): EnvResult {
  const env: Record<string, string> = { ...serviceEnv(visibleServices(pod, services)) };
  const errors: string[] = [];
  for (const v of c.env ?? []) {
    const value = envValue(pod, v, env, podIP, hostIP);
    if (value === undefined) errors.push(`couldn't resolve env var ${v.name}: only value and valueFrom.fieldRef are supported in the lab`);
    else env[v.name] = value;
  }
  return { env, errors };
}

function envValue(pod: Pod, v: EnvVar, env: Record<string, string>, podIP: string, hostIP: string): string | undefined {
  if (v.valueFrom) return v.valueFrom.fieldRef ? (fieldValue(pod, v.valueFrom.fieldRef.fieldPath, podIP, hostIP) ?? '') : undefined;
  return expand(v.value ?? '', env);
}
