import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../util/errors.ts';
import { formatIPv6, ipv6Groups } from '../util/ipv6.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** addressFamily returns AF_INET or AF_INET6 for an IP literal, or throws. */
export function addressFamily(ip: string): number {
  if (isIPv4(ip)) return AF_INET;
  if (isIPv6(ip)) return AF_INET6;
  throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
}


/** ipToBytes encodes an IP literal in network order: 4 bytes for IPv4, 16 for IPv6. */
export function ipToBytes(ip: string): Buffer {
  const b = Buffer.alloc(ip.includes(':') ? 16 : 4);
  writeIp(b, 0, ip);
  return b;
}

/** writeIp writes an IP literal in network order into `out` at `at` (4 or 16 bytes) and returns where the next field starts. */
export function writeIp(out: Buffer, at: number, ip: string): number {
  if (isIPv4(ip)) {
    let octet = 0;
    for (const part of ip.split('.')) out[at + octet++] = Number(part);
    return at + 4;
  }
  if (!isIPv6(ip)) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
  ipv6Groups(ip).forEach((g, i) => out.writeUInt16BE(g, at + i * 2));
  return at + 16;
}

/** bytesToIp decodes 4 bytes (or the first 4 of a 16-byte nf_inet_addr when family is AF_INET) or 16 bytes. */
export function bytesToIp(b: Buffer, family: number): string {
  if (family === AF_INET) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  return formatIPv6(groups);
}
