import type { Registry } from 'prom-client';
import type { ProxyConfig } from '../endpoints/proxy-config.ts';
import type { Proxier } from '../endpoints/proxier.ts';
import { IpvsProxier } from './proxier.ts';

/** createProxier builds the IPVS proxier for `ferry proxy --mode ipvs`. */
export function createProxier(config: ProxyConfig, metrics?: Registry): Proxier {
  return new IpvsProxier(config, { registry: metrics });
}

export { IpvsProxier, DUMMY_LINK } from './proxier.ts';
