import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../util/errors.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** addressFamily returns AF_INET or AF_INET6 for an IP literal, or throws. */
export function addressFamily(ip: string): number {
  if (isIPv4(ip)) return AF_INET;
  if (isIPv6(ip)) return AF_INET6;
  throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
}

function ipv6Groups(ip: string): number[] {
  // An embedded IPv4 suffix (::ffff:1.2.3.4) is two more hex groups.
  const s = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head, rest] = s.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const h = parse(head);
  const r = parse(rest ?? '');
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  return [...h, ...new Array<number>(fill).fill(0), ...r];
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
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
