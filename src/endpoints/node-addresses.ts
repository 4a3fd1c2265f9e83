import { networkInterfaces } from 'node:os';
import type { IPFamily } from './node-port-addresses.ts';

/** localIPs lists this node's own addresses of one family, loopback excluded. */
export function localIPs(family: IPFamily): string[] {
  const name = family === 4 ? 'IPv4' : 'IPv6';
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === name && !a.internal)
    .map((a) => a!.address);
}
