import { networkInterfaces } from 'node:os';

/** localIPv4s lists this node's own IPv4 addresses, loopback excluded. */
export function localIPv4s(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}
