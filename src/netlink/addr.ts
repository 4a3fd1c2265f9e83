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
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
  const b = Buffer.alloc(16);
  ipv6Groups(ip).forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/** bytesToIp decodes 4 bytes (or the first 4 of a 16-byte nf_inet_addr when family is AF_INET) or 16 bytes. */
export function bytesToIp(b: Buffer, family: number): string {
  if (family === AF_INET) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  return formatIPv6(groups);
}
