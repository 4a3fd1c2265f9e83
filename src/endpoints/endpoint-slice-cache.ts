import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { familyOf, type IPFamily } from './node-port-addresses.ts';
import { servicePortKey } from './proxy-state.ts';
import { parseIPSloppy } from '../util/sloppy-ip.ts';
import type { Endpoint, Protocol } from './proxy-state.ts';
import { SERVICE_NAME_LABEL } from '../client/store.ts';

/**
 * SliceInfo is the slim projection of one EndpointSlice that the tracker
 * keeps: only what the proxy uses, so 100k endpoints stay small in memory.
 * Every field added here costs memory per endpoint.
 */
export interface SliceInfo {
  readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: Protocol }>;
  readonly endpoints: ReadonlyArray<{
    readonly ip: string;
    readonly ready: boolean;
    readonly serving: boolean;
    readonly terminating: boolean;
    readonly nodeName: string | undefined;
    readonly zone: string | undefined;
    readonly hostname: string | undefined;
  }>;
}

/** EndpointsOfService maps each service port key of one service to its merged endpoints and protocol. */
export type EndpointsOfService = Map<string, { readonly protocol: Protocol; readonly endpoints: readonly Endpoint[] }>;

/** sliceServiceName is the `ns/service` a slice belongs to, or undefined without the label. */
export function sliceServiceName(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata?.namespace ?? ''}/${svc}` : undefined;
}

/** sliceInfo projects an EndpointSlice of the proxy's family (addressType IPv4 or IPv6); others give undefined (not this proxy's). */
export function sliceInfo(slice: EndpointSlice, family: IPFamily = 4): SliceInfo | undefined {
  if (slice.addressType !== `IPv${family}`) return undefined;
  const ports = (slice.ports ?? [])
    .filter((p) => Number.isInteger(p.port) && p.port! > 0 && p.port! < 65536)
    .map((p) => ({ name: p.name ?? '', port: p.port!, protocol: (p.protocol ?? 'TCP') as Protocol }));
  const endpoints = (slice.endpoints ?? [])
    .map((e) => {
      const ready = e.conditions?.ready ?? true;
      // One object shape for every endpoint keeps V8 on its fast paths at 100k endpoints.
      return {
        // kube-proxy uses the first address (the others are the same endpoint), read as it reads it: leading zeros are decimal.
        ip: parseIPSloppy(e.addresses[0] ?? '') ?? '',
        ready,
        serving: e.conditions?.serving ?? ready,
        terminating: e.conditions?.terminating ?? false,
        nodeName: e.nodeName ?? undefined,
        zone: e.zone ?? undefined,
        hostname: e.hostname ?? undefined,
      };
    })
    // A malformed address would fail the whole ruleset it is written into.
    .filter((e) => familyOf(e.ip) === family)
    .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return { ports, endpoints };
}

/**
 * mergeSlices builds one service's endpoints per service port from all its
 * slices. An endpoint (ip:port) present in several slices appears once; a
 * ready copy wins over an unready one, as in kube-proxy's EndpointSliceCache
 * (slices can overlap while the controller moves endpoints between them).
 */
export function mergeSlices(namespace: string, service: string, slices: Iterable<SliceInfo>, nodeName: string): EndpointsOfService {
  const byKey = new Map<string, { protocol: Protocol; eps: Map<string, Endpoint>; sources: number }>();
  for (const slice of slices) {
    for (const port of slice.ports) {
      const key = servicePortKey(namespace, service, port.name);
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { protocol: port.protocol, eps: new Map(), sources: 0 }));
      entry.sources++;
      for (const e of slice.endpoints) {
        const id = `${e.ip}:${port.port}`;
        const existing = entry.eps.get(id);
        if (existing && (existing.ready || !e.ready)) continue;
        entry.eps.set(id, Object.freeze({
          ip: e.ip, port: port.port, ready: e.ready, serving: e.serving, terminating: e.terminating,
          nodeName: e.nodeName, zone: e.zone, hostname: e.hostname, isLocal: e.nodeName !== undefined && e.nodeName === nodeName,
        }));
      }
    }
  }
  const result: EndpointsOfService = new Map();
  for (const [key, { protocol, eps, sources }] of byKey) {
    const endpoints = [...eps.values()];
    // A single slice's endpoints are already sorted by IP (sliceInfo sorts them).
    if (sources > 1) endpoints.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
    result.set(key, { protocol, endpoints: Object.freeze(endpoints) });
  }
  return result;
}
