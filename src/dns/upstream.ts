import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Upstream } from './forward.ts';
import { InvalidArgumentError } from '../util/errors.ts';

/** parseUpstream reads `ip`, `ip:port` or `[ipv6]:port` (port 53 when absent). */
export function parseUpstream(text: string): Upstream {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? (isIP(text) === 6 ? [text, text, undefined] : /^([^:]+)(?::(\d+))?$/.exec(text));
  const address = m?.[1];
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (!address || isIP(address) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`invalid upstream ${JSON.stringify(text)}: want an IP address with an optional :port`);
  }
  return { address, port };
}

/** resolvConfUpstreams lists the `nameserver` lines of a resolv.conf. */
export function resolvConfUpstreams(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const address = m[1]!.replace(/%.*$/, '');
    if (isIP(address)) out.push({ address, port: 53 });
  }
  return out;
}

/**
 * withoutSelf drops upstreams that are this server itself (same port, and
 * the same address, or any local address when listening on all of them):
 * forwarding to ourselves would loop every unknown name until it times out
 * (the failure CoreDNS's `loop` plugin exists for, coredns#2087).
 */
export function withoutSelf(upstreams: Upstream[], listen: { host: string; port: number }): { kept: Upstream[]; dropped: Upstream[] } {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const local = new Set<string>(['::1']);
  if (wildcard) for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) local.add(a.address);
  const isSelf = (u: Upstream) =>
    u.port === listen.port && (u.address === listen.host || (wildcard && (local.has(u.address) || u.address.startsWith('127.'))));
  return { kept: upstreams.filter((u) => !isSelf(u)), dropped: upstreams.filter(isSelf) };
}
