import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv6, ipv6Groups } from './ipv6.ts';

/**
 * Addresses read the way kube-proxy reads them (k8s.io/utils/net
 * ParseIPSloppy and ParseCIDRSloppy, Go 1.16's net.ParseIP): an IPv4 part may
 * carry leading zeros and is read as decimal, so "172.30.0.041" is
 * 172.30.0.41, not octal 33. The apiserver refuses such addresses today, but
 * objects stored before it did still carry them, and kube-proxy programs them
 * under their canonical text. Node's isIPv4 refuses them, which would leave
 * such a service without rules.
 */

/** sloppyIPv4 reads a dotted quad whose parts may have leading zeros; undefined when it is not one. */
function sloppyIPv4(text: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts.join('.') : undefined;
}

/** canonicalIPv6 gives Go's text for an IPv6 address (RFC 5952; an IPv4-mapped one is its IPv4 address, as Go's To4 makes it). */
function canonicalIPv6(text: string): string | undefined {
  // An embedded IPv4 tail may be sloppy too.
  const tail = /^(.*:)([\d.]+)$/.exec(text);
  const v4 = tail?.[2]?.includes('.') ? sloppyIPv4(tail[2]) : undefined;
  const written = tail && v4 ? tail[1] + v4 : text;
  if (!isIPv6(written) || written.includes('%')) return undefined;
  const groups = ipv6Groups(written);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (!mapped) return formatIPv6(groups);
  const [hi, lo] = [groups[6]!, groups[7]!];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** parseIPSloppy gives the canonical text of an IPv4 or IPv6 address read as kube-proxy reads it, or undefined when it is not one. */
export function parseIPSloppy(text: string): string | undefined {
  // Fast path: Node's strict form is already canonical for IPv4.
  if (isIPv4(text)) return text;
  return text.includes(':') ? canonicalIPv6(text) : sloppyIPv4(text);
}

/** canonicalIPs reads each address sloppily and drops the ones that are not addresses. */
export function canonicalIPs(texts: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of texts) {
    const ip = parseIPSloppy(text);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}


/** maskBytes zeroes the host bits of an address's bytes. */
function maskBytes(bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/**
 * parseCIDRSloppy gives a CIDR as kube-proxy writes it (net.IPNet's String):
 * the sloppily read address with its host bits cleared, and the prefix length
 * read as decimal ("203.0.113.000/025" is "203.0.113.0/25"); undefined when
 * it is not a CIDR.
 */
export function parseCIDRSloppy(text: string): string | undefined {
  const m = /^([^/]+)\/(\d+)$/.exec(text);
  if (!m) return undefined;
  const v6 = m[1]!.includes(':');
  const ip = v6 ? canonicalIPv6(m[1]!) : sloppyIPv4(m[1]!);
  const bits = Number(m[2]);
  // An IPv4-mapped network written as IPv6 is left out: no family reads it as its own.
  if (ip === undefined || v6 !== ip.includes(':') || bits > (v6 ? 128 : 32)) return undefined;
  if (!v6) return `${maskBytes(ip.split('.').map(Number), bits).join('.')}/${bits}`;
  const bytes = maskBytes(ipv6Groups(ip).flatMap((g) => [g >> 8, g & 255]), bits);
  return `${formatIPv6(Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!))}/${bits}`;
}
