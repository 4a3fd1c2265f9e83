import { isIPv4, isIP } from 'node:net';
import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { isDNS1123Label, isDNS1123Subdomain, isValidPortName } from '../../kube/names.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { needsClusterIP, needsNodePorts, type ServiceAllocator } from '../allocators/service-allocator.ts';
import { asRecord as obj } from '../../util/records.ts';

/**
 * Service defaults and validation as kube-apiserver (`SetDefaults_Service`,
 * `ValidateService`), and ClusterIP/NodePort allocation through the
 * ServiceAllocator, including carrying allocated values over an update that
 * leaves them out (as `kubectl apply` does).
 */
type Obj = Record<string, unknown>;

const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const protocols = ['TCP', 'UDP', 'SCTP'];

function spec(svc: KubeObject): Obj {
  const s = obj(svc.spec);
  if (s) return s;
  svc.spec = {};
  return svc.spec as Obj;
}

function ports(s: Obj): Obj[] {
  return Array.isArray(s.ports) ? (s.ports.filter((p) => obj(p)) as Obj[]) : [];
}

/**
 * defaultService sets kube's defaults; `served` are the cluster's IP
 * families, primary first (a dual-stack `--service-cluster-ip-range` serves two).
 */
export function defaultService(svc: KubeObject, served: readonly string[] = ['IPv4']): void {
  const s = spec(svc);
  s.type ??= 'ClusterIP';
  s.sessionAffinity ??= 'None';
  if (s.sessionAffinity === 'ClientIP') {
    const cfg = (obj(s.sessionAffinityConfig) ?? (s.sessionAffinityConfig = {})) as Obj;
    const clientIP = (obj(cfg.clientIP) ?? (cfg.clientIP = {})) as Obj;
    clientIP.timeoutSeconds ??= 10800;
  }
  for (const p of ports(s)) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
  if (s.type === 'LoadBalancer') s.allocateLoadBalancerNodePorts ??= true;
  if (s.type !== 'ExternalName') {
    s.internalTrafficPolicy ??= 'Cluster';
    if (typeof s.clusterIP === 'string' && s.clusterIP !== '' && s.clusterIPs === undefined) s.clusterIPs = [s.clusterIP];
    defaultIPFamilies(s, served);
  }
  svc.status ??= { loadBalancer: {} };
}

/** ipFamilyName is an address's family as a Service spells it (`spec.ipFamilies`). */
const ipFamilyName = (ip: string): 'IPv4' | 'IPv6' => (isIPv4(ip) ? 'IPv4' : 'IPv6');

/**
 * defaultIPFamilies follows kube's initIPFamilyFields: two requested families
 * or cluster IPs make the policy RequireDualStack, else it is SingleStack;
 * the families are those of the requested cluster IPs, else the cluster's
 * primary; a dual-stack policy adds the other family where the cluster serves it.
 */
function defaultIPFamilies(s: Obj, served: readonly string[]): void {
  const requested = (Array.isArray(s.clusterIPs) ? s.clusterIPs : []).filter((ip): ip is string => typeof ip === 'string' && isIP(ip) !== 0);
  if (s.ipFamilyPolicy === undefined && ((Array.isArray(s.ipFamilies) && s.ipFamilies.length === 2) || requested.length === 2)) s.ipFamilyPolicy = 'RequireDualStack';
  s.ipFamilyPolicy ??= 'SingleStack';
  if (s.ipFamilies === undefined) s.ipFamilies = requested.length > 0 ? requested.map(ipFamilyName) : [served[0] ?? 'IPv4'];
  const families = s.ipFamilies;
  if (s.ipFamilyPolicy !== 'SingleStack' && Array.isArray(families) && families.length === 1) {
    const other = served.find((f) => f !== families[0]);
    if (other) s.ipFamilies = [...families, other];
  }
}

/** carryAllocated keeps the stored ClusterIP and NodePorts when an update leaves them empty. */
function carryAllocated(svc: KubeObject, old: KubeObject): void {
  const s = spec(svc);
  const o = obj(old.spec) ?? {};
  if (needsClusterIP(s) && needsClusterIP(o) && (s.clusterIP === undefined || s.clusterIP === '')) {
    s.clusterIP = o.clusterIP;
    s.clusterIPs = o.clusterIPs;
  }
  if (needsNodePorts(s) && needsNodePorts(o)) {
    for (const p of ports(s)) {
      if (p.nodePort !== undefined && p.nodePort !== 0) continue;
      const match = ports(o).find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (match?.nodePort !== undefined) p.nodePort = match.nodePort;
    }
    if (s.healthCheckNodePort === undefined && s.externalTrafficPolicy === 'Local') s.healthCheckNodePort = o.healthCheckNodePort;
  }
  if (s.type === 'ExternalName' && o.type !== 'ExternalName') {
    // Switching to ExternalName drops the allocated address the client did not change, as kube's dropTypeDependentFields.
    if (s.clusterIP === o.clusterIP) delete s.clusterIP;
    if (JSON.stringify(s.clusterIPs) === JSON.stringify(o.clusterIPs)) delete s.clusterIPs;
    for (const f of ['ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy'] as const) if (JSON.stringify(s[f]) === JSON.stringify(o[f])) delete s[f];
  }
  if (!needsNodePorts(s) && needsNodePorts(o)) {
    for (const p of ports(s)) {
      const match = ports(o).find((q) => q.port === p.port);
      if (match?.nodePort !== undefined && match.nodePort === p.nodePort) delete p.nodePort;
    }
    if (s.externalTrafficPolicy === o.externalTrafficPolicy) delete s.externalTrafficPolicy;
  }
}

function validatePorts(s: Obj, causes: StatusCause[]): void {
  if (s.ports !== undefined && !Array.isArray(s.ports)) {
    causes.push(cause.invalid('spec.ports', s.ports, 'must be a list'));
    return;
  }
  const list = (s.ports ?? []) as unknown[];
  const headless = s.clusterIP === 'None';
  if (list.length === 0 && !headless && s.type !== 'ExternalName') causes.push(cause.required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const f = `spec.ports[${i}]`;
    const p = obj(raw);
    if (!p) return void causes.push(cause.invalid(f, raw, 'must be an object'));
    if (list.length > 1 && (p.name === undefined || p.name === '')) causes.push(cause.required(`${f}.name`));
    if (p.name !== undefined && p.name !== '') {
      if (typeof p.name !== 'string') causes.push(cause.invalid(`${f}.name`, p.name, 'must be a string'));
      else {
        for (const e of isDNS1123Label(p.name)) causes.push(cause.invalid(`${f}.name`, p.name, e));
        if (names.has(p.name)) causes.push(cause.duplicate(`${f}.name`, p.name));
        names.add(p.name);
      }
    }
    if (!Number.isInteger(p.port) || (p.port as number) < 1 || (p.port as number) > 65535) causes.push(cause.invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    if (!protocols.includes(p.protocol as string)) causes.push(cause.unsupported(`${f}.protocol`, p.protocol, protocols));
    validateTargetPort(p.targetPort, `${f}.targetPort`, causes);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (!Number.isInteger(p.nodePort) || (p.nodePort as number) < 1 || (p.nodePort as number) > 65535) causes.push(cause.invalid(`${f}.nodePort`, p.nodePort, 'must be between 1 and 65535, inclusive'));
      else if (!needsNodePorts(s)) causes.push(cause.forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${String(s.type)}'`));
    }
    const id = `${String(p.protocol)}/${String(p.port)}`;
    if (seen.has(id)) causes.push(cause.duplicate(f, { port: p.port, protocol: p.protocol }));
    seen.add(id);
  });
}

function validateTargetPort(tp: unknown, field: string, causes: StatusCause[]): void {
  if (tp === undefined) return;
  if (typeof tp === 'number') {
    if (!Number.isInteger(tp) || tp < 1 || tp > 65535) causes.push(cause.invalid(field, tp, 'must be between 1 and 65535, inclusive'));
  } else if (typeof tp === 'string') {
    for (const e of isValidPortName(tp)) causes.push(cause.invalid(field, tp, e));
  } else causes.push(cause.invalid(field, tp, 'must be an integer or a port name'));
}

function validateClusterIP(s: Obj, old: Obj | undefined, causes: StatusCause[]): void {
  const ip = s.clusterIP;
  if (ip !== undefined && ip !== '' && ip !== 'None' && (typeof ip !== 'string' || !isIP(ip))) {
    causes.push(cause.invalid('spec.clusterIP', ip, "must be empty, 'None', or a valid IP address"));
  }
  if (Array.isArray(s.clusterIPs)) {
    if (s.clusterIPs.length > 2) causes.push(cause.tooMany('spec.clusterIPs', 2));
    if (s.clusterIPs.length > 0 && ip !== undefined && ip !== '' && s.clusterIPs[0] !== ip) causes.push(cause.invalid('spec.clusterIPs', s.clusterIPs, 'must have the clusterIP as its first value'));
  }
  validateIPFamilies(s, causes);
  if (s.type === 'ExternalName' && ip !== undefined && ip !== '') causes.push(cause.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  const oldIP = old?.clusterIP;
  if (old && old.type !== 'ExternalName' && s.type !== 'ExternalName' && typeof oldIP === 'string' && oldIP !== '' && ip !== oldIP) {
    causes.push(cause.invalid('spec.clusterIP', ip, 'field is immutable'));
  }
}

/** validateIPFamilies: one address per family, in the order of ipFamilies; two families need a dual-stack policy. */
function validateIPFamilies(s: Obj, causes: StatusCause[]): void {
  const families = Array.isArray(s.ipFamilies) ? s.ipFamilies : [];
  if (families.length === 2 && families[0] === families[1]) causes.push(cause.invalid('spec.ipFamilies[1]', families[1], 'may not be duplicated'));
  if (families.length === 2 && s.ipFamilyPolicy === 'SingleStack') {
    causes.push(cause.invalid('spec.ipFamilyPolicy', s.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple 'ipFamilies' are specified"));
  }
  if (!Array.isArray(s.clusterIPs)) return;
  s.clusterIPs.forEach((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0 || families[i] === undefined) return;
    if (ipFamilyName(ip) !== families[i]) causes.push(cause.invalid(`spec.clusterIPs[${i}]`, ip, `must be of IP family ${String(families[i])} (spec.ipFamilies[${i}])`));
  });
}

function validateEnums(s: Obj, causes: StatusCause[]): void {
  if (!types.includes(s.type as string)) causes.push(cause.unsupported('spec.type', s.type, types));
  if (!['None', 'ClientIP'].includes(s.sessionAffinity as string)) causes.push(cause.unsupported('spec.sessionAffinity', s.sessionAffinity, ['ClientIP', 'None']));
  const timeout = obj(obj(s.sessionAffinityConfig)?.clientIP)?.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 86400)) {
    causes.push(cause.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  }
  if (s.externalTrafficPolicy !== undefined) {
    if (!needsNodePorts(s)) causes.push(cause.invalid('spec.externalTrafficPolicy', s.externalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"));
    else if (!['Cluster', 'Local'].includes(s.externalTrafficPolicy as string)) causes.push(cause.unsupported('spec.externalTrafficPolicy', s.externalTrafficPolicy, ['Cluster', 'Local']));
  }
  if (s.internalTrafficPolicy !== undefined && !['Cluster', 'Local'].includes(s.internalTrafficPolicy as string)) {
    causes.push(cause.unsupported('spec.internalTrafficPolicy', s.internalTrafficPolicy, ['Cluster', 'Local']));
  }
  if (s.ipFamilyPolicy !== undefined && !['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(s.ipFamilyPolicy as string)) {
    causes.push(cause.unsupported('spec.ipFamilyPolicy', s.ipFamilyPolicy, ['SingleStack', 'PreferDualStack', 'RequireDualStack']));
  }
  if (Array.isArray(s.ipFamilies)) {
    if (s.ipFamilies.length > 2) causes.push(cause.tooMany('spec.ipFamilies', 2));
    s.ipFamilies.forEach((f, i) => {
      if (f !== 'IPv4' && f !== 'IPv6') causes.push(cause.unsupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    });
  }
}

function validateMisc(s: Obj, causes: StatusCause[]): void {
  if (s.type === 'ExternalName') {
    const name = typeof s.externalName === 'string' ? s.externalName.replace(/\.$/, '') : '';
    if (name === '') causes.push(cause.required('spec.externalName'));
    else for (const e of isDNS1123Subdomain(name)) causes.push(cause.invalid('spec.externalName', s.externalName, e));
  }
  if (s.selector !== undefined && s.selector !== null) {
    const sel = obj(s.selector);
    if (!sel || Object.values(sel).some((v) => typeof v !== 'string')) causes.push(cause.invalid('spec.selector', s.selector, 'must be a map of strings'));
  }
  if (s.externalIPs !== undefined) {
    if (!Array.isArray(s.externalIPs)) causes.push(cause.invalid('spec.externalIPs', s.externalIPs, 'must be a list'));
    else s.externalIPs.forEach((ip, i) => {
      if (typeof ip !== 'string' || !isIP(ip)) causes.push(cause.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address'));
    });
  }
}

export function validateService(svc: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const s = obj(svc.spec);
  if (!s) return [cause.required('spec')];
  const causes: StatusCause[] = [];
  validateEnums(s, causes);
  validatePorts(s, causes);
  validateClusterIP(s, old ? obj(old.spec) : undefined, causes);
  validateMisc(s, causes);
  return causes;
}

export function serviceStrategy(allocator: ServiceAllocator): Strategy {
  return {
    defaults: (svc) => defaultService(svc, allocator.families()),
    prepareForCreate(svc) {
      svc.status = { loadBalancer: {} };
    },
    prepareForUpdate: carryAllocated,
    validate: validateService,
    reserve: (svc) => allocator.reserve(svc),
  };
}
