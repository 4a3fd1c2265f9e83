import type { StatusCause } from '../../kube/types.ts';
import { isIP } from 'node:net';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { asRecord as obj } from '../../util/records.ts';

/** Strategies of the simpler kinds: namespaces, nodes, endpoints, endpoint slices, events, configmaps. */
type Obj = Record<string, unknown>;

export const namespaceStrategy: Strategy = {
  prepareForCreate(ns) {
    ns.status = { phase: 'Active' };
  },
  defaults(ns) {
    const spec = (obj(ns.spec) ?? (ns.spec = {})) as Obj;
    spec.finalizers ??= ['kubernetes'];
    const m = ns.metadata!;
    m.labels = { ...m.labels, 'kubernetes.io/metadata.name': m.name ?? '' };
  },
};

export const nodeStrategy: Strategy = {
  defaults(node) {
    node.spec ??= {};
  },
};

export const plainStrategy: Strategy = {};

export const configMapStrategy: Strategy = {
  validate(cm) {
    const causes: StatusCause[] = [];
    for (const field of ['data', 'binaryData'] as const) {
      const v = cm[field];
      if (v === undefined || v === null) continue;
      const map = obj(v);
      if (!map || Object.values(map).some((x) => typeof x !== 'string')) causes.push(cause.invalid(field, v, 'must be a map of strings'));
    }
    return causes;
  },
};

export const endpointsStrategy: Strategy = {
  validate(ep) {
    const causes: StatusCause[] = [];
    if (ep.subsets === undefined || ep.subsets === null) return causes;
    if (!Array.isArray(ep.subsets)) return [cause.invalid('subsets', ep.subsets, 'must be a list')];
    ep.subsets.forEach((raw, i) => {
      const subset = obj(raw);
      if (!subset) return void causes.push(cause.invalid(`subsets[${i}]`, raw, 'must be an object'));
      for (const field of ['addresses', 'notReadyAddresses'] as const) {
        const list = subset[field];
        if (list !== undefined && !Array.isArray(list)) causes.push(cause.invalid(`subsets[${i}].${field}`, list, 'must be a list'));
        else (list ?? []).forEach((a: unknown, j: number) => {
          const ip = obj(a)?.ip;
          if (typeof ip !== 'string' || !isIP(ip)) causes.push(cause.invalid(`subsets[${i}].${field}[${j}].ip`, ip, 'must be a valid IP address'));
        });
      }
    });
    return causes;
  },
};

const addressTypes = ['IPv4', 'IPv6', 'FQDN'];

export const endpointSliceStrategy: Strategy = {
  validate(slice) {
    const causes: StatusCause[] = [];
    if (!addressTypes.includes(slice.addressType as string)) causes.push(cause.unsupported('addressType', slice.addressType, addressTypes));
    if (slice.endpoints !== undefined && slice.endpoints !== null) {
      if (!Array.isArray(slice.endpoints)) causes.push(cause.invalid('endpoints', slice.endpoints, 'must be a list'));
      else {
        if (slice.endpoints.length > 1000) causes.push(cause.tooMany('endpoints', 1000));
        slice.endpoints.forEach((raw, i) => {
          const addresses = obj(raw)?.addresses;
          if (!Array.isArray(addresses) || addresses.length === 0) causes.push(cause.required(`endpoints[${i}].addresses`));
          else if (slice.addressType !== 'FQDN') addresses.forEach((a, j) => {
            if (typeof a !== 'string' || !isIP(a)) causes.push(cause.invalid(`endpoints[${i}].addresses[${j}]`, a, 'must be a valid IP address'));
          });
        });
      }
    }
    if (slice.ports !== undefined && slice.ports !== null && (!Array.isArray(slice.ports) || slice.ports.length > 100)) {
      causes.push(Array.isArray(slice.ports) ? cause.tooMany('ports', 100) : cause.invalid('ports', slice.ports, 'must be a list'));
    }
    return causes;
  },
};

export const eventStrategy: Strategy = {
  validate(ev) {
    return obj(ev.involvedObject) ? [] : [cause.required('involvedObject')];
  },
};
