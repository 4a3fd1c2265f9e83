import type { StatusCause } from '../../kube/types.ts';
import { isDNS1123Subdomain, isValidPortName } from '../../kube/names.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';

/** networking.k8s.io/v1 Ingresses as kube-apiserver's `ValidateIngressSpec`: rules or a default backend, paths and backends. */
type Obj = Record<string, unknown>;

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateBackend(raw: unknown, field: string, causes: StatusCause[]): void {
  const backend = obj(raw);
  if (!backend) return void causes.push(cause.required(field));
  const service = obj(backend.service);
  const resource = obj(backend.resource);
  if (service && resource) return void causes.push(cause.invalid(field, '', 'cannot set both resource and service backends'));
  if (resource) {
    if (typeof resource.kind !== 'string' || resource.kind === '') causes.push(cause.required(`${field}.resource.kind`));
    if (typeof resource.name !== 'string' || resource.name === '') causes.push(cause.required(`${field}.resource.name`));
    return;
  }
  if (!service) return void causes.push(cause.invalid(field, '', 'resource or service backend is required'));
  if (typeof service.name !== 'string' || service.name === '') causes.push(cause.required(`${field}.service.name`));
  const port = obj(service.port);
  const hasNumber = port?.number !== undefined && port.number !== 0;
  const hasName = typeof port?.name === 'string' && port.name !== '';
  if (hasNumber === hasName) causes.push(cause.invalid(`${field}.service.port`, port ?? {}, hasName ? 'cannot set both port name & port number' : 'port name or number is required'));
  else if (hasNumber && (!Number.isInteger(port!.number) || (port!.number as number) < 1 || (port!.number as number) > 65535)) causes.push(cause.invalid(`${field}.service.port.number`, port!.number, 'must be between 1 and 65535, inclusive'));
  else if (hasName) for (const e of isValidPortName(port!.name as string)) causes.push(cause.invalid(`${field}.service.port.name`, port!.name, e));
}

function validatePath(raw: unknown, field: string, causes: StatusCause[]): void {
  const p = obj(raw) ?? {};
  if (p.pathType === undefined) causes.push(cause.required(`${field}.pathType`, 'Required value: pathType must be specified'));
  else if (!pathTypes.includes(p.pathType as string)) causes.push(cause.unsupported(`${field}.pathType`, p.pathType, pathTypes));
  if ((p.pathType === 'Exact' || p.pathType === 'Prefix') && (typeof p.path !== 'string' || !p.path.startsWith('/'))) causes.push(cause.invalid(`${field}.path`, p.path, "must be an absolute path"));
  validateBackend(p.backend, `${field}.backend`, causes);
}

function validateRule(raw: unknown, field: string, causes: StatusCause[]): void {
  const rule = obj(raw) ?? {};
  if (rule.host !== undefined && rule.host !== '') {
    const host = String(rule.host);
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) causes.push(cause.invalid(`${field}.host`, host, 'must be a DNS name, not an IP address'));
    else for (const e of isDNS1123Subdomain(host.startsWith('*.') ? host.slice(2) : host)) causes.push(cause.invalid(`${field}.host`, host, e));
  }
  const http = obj(rule.http);
  if (!http) return;
  if (!Array.isArray(http.paths) || http.paths.length === 0) return void causes.push(cause.required(`${field}.http.paths`));
  http.paths.forEach((p, i) => validatePath(p, `${field}.http.paths[${i}]`, causes));
}

export const ingressStrategy: Strategy = {
  prepareForCreate(ing) {
    ing.status = { loadBalancer: {} };
  },
  validate(ing) {
    const spec = obj(ing.spec) ?? {};
    const causes: StatusCause[] = [];
    const rules = Array.isArray(spec.rules) ? spec.rules : [];
    if (spec.defaultBackend !== undefined && spec.defaultBackend !== null) validateBackend(spec.defaultBackend, 'spec.defaultBackend', causes);
    else if (rules.length === 0) causes.push(cause.invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
    rules.forEach((r, i) => validateRule(r, `spec.rules[${i}]`, causes));
    if (Array.isArray(spec.tls)) spec.tls.forEach((t, i) => {
      const hosts = (obj(t) as Obj | undefined)?.hosts;
      if (Array.isArray(hosts)) hosts.forEach((h, j) => {
        const host = String(h);
        for (const e of isDNS1123Subdomain(host.startsWith('*.') ? host.slice(2) : host)) causes.push(cause.invalid(`spec.tls[${i}].hosts[${j}]`, h, e));
      });
    });
    return causes;
  },
};

/** IngressClasses: spec.controller is a required, domain-prefixed path of at most 250 characters. */
export const ingressClassStrategy: Strategy = {
  validate(ic, old) {
    const spec = obj(ic.spec) ?? {};
    const causes: StatusCause[] = [];
    const controller = spec.controller;
    if (typeof controller !== 'string' || controller === '') causes.push(cause.required('spec.controller'));
    else if (controller.length > 250) causes.push({ reason: 'FieldValueTooLong', field: 'spec.controller', message: 'Too long: may not be more than 250 bytes' });
    else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/\S+$/.test(controller)) causes.push(cause.invalid('spec.controller', controller, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    if (old && controller !== obj(old.spec)?.controller) causes.push(cause.invalid('spec.controller', controller, 'field is immutable'));
    return causes;
  },
};
