import { isIP } from 'node:net';
import type { StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';

/** NetworkPolicies as kube-apiserver: `SetDefaults_NetworkPolicy` (policyTypes, port protocols) and `ValidateNetworkPolicySpec`. */
type Obj = Record<string, unknown>;

const protocols = ['TCP', 'UDP', 'SCTP'];
const policyTypes = ['Ingress', 'Egress'];

function isCIDR(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  const [ip, bits, ...rest] = text.split('/');
  const family = isIP(ip ?? '');
  return rest.length === 0 && family !== 0 && /^\d+$/.test(bits ?? '') && Number(bits) <= (family === 4 ? 32 : 128);
}

function validatePeers(rule: Obj, key: 'from' | 'to', field: string, causes: StatusCause[]): void {
  if (!Array.isArray(rule[key])) return;
  (rule[key] as unknown[]).forEach((raw, i) => {
    const peer = obj(raw) ?? {};
    const f = `${field}.${key}[${i}]`;
    const block = obj(peer.ipBlock);
    if (!peer.podSelector && !peer.namespaceSelector && !block) causes.push(cause.required(f, 'Required value: must specify a peer'));
    if (block && (peer.podSelector || peer.namespaceSelector)) causes.push(cause.forbidden(f, 'may not specify both ipBlock and another peer'));
    if (block) {
      if (!isCIDR(block.cidr)) causes.push(cause.invalid(`${f}.ipBlock.cidr`, block.cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      if (Array.isArray(block.except)) block.except.forEach((e, j) => {
        if (!isCIDR(e)) causes.push(cause.invalid(`${f}.ipBlock.except[${j}]`, e, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      });
    }
  });
}

function validatePorts(rule: Obj, field: string, causes: StatusCause[]): void {
  if (!Array.isArray(rule.ports)) return;
  rule.ports.forEach((raw, i) => {
    const p = obj(raw) ?? {};
    const f = `${field}.ports[${i}]`;
    if (!protocols.includes(p.protocol as string)) causes.push(cause.unsupported(`${f}.protocol`, p.protocol, protocols));
    if (typeof p.port === 'number' && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)) causes.push(cause.invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    if (p.endPort !== undefined && (typeof p.port !== 'number' || typeof p.endPort !== 'number' || p.endPort < p.port)) causes.push(cause.invalid(`${f}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
  });
}

export const networkPolicyStrategy: Strategy = {
  defaults(np) {
    const spec = obj(np.spec);
    if (!spec) return;
    spec.podSelector ??= {};
    for (const key of ['ingress', 'egress']) {
      if (Array.isArray(spec[key])) for (const r of spec[key] as unknown[]) for (const p of (obj(r)?.ports as unknown[] | undefined) ?? []) if (obj(p)) (p as Obj).protocol ??= 'TCP';
    }
    if (spec.policyTypes === undefined || (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)) {
      spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
    }
  },
  validate(np) {
    const spec = obj(np.spec);
    if (!spec) return [cause.required('spec')];
    const causes: StatusCause[] = [];
    if (Array.isArray(spec.policyTypes)) spec.policyTypes.forEach((t, i) => {
      if (!policyTypes.includes(t as string)) causes.push(cause.unsupported(`spec.policyTypes[${i}]`, t, policyTypes));
    });
    for (const [key, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
      if (Array.isArray(spec[key])) (spec[key] as unknown[]).forEach((r, i) => {
        const rule = obj(r) ?? {};
        validatePorts(rule, `spec.${key}[${i}]`, causes);
        validatePeers(rule, peers, `spec.${key}[${i}]`, causes);
      });
    }
    return causes;
  },
};
