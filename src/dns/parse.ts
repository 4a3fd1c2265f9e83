import { formatIPv6, ipv6Groups } from '../util/ipv6.ts';
/**
 * RecordRequest is a cluster name taken apart, as CoreDNS's parseRequest
 * does (plugin/kubernetes/parse.go). Names have the forms
 *   _port._proto.service.namespace.svc.zone
 *   endpoint.service.namespace.svc.zone
 *   endpoint.cluster.service.namespace.svc.zone   (multicluster zones)
 *   service.namespace.svc|pod.zone
 * An empty field was not present in the name. `podOrSvc` empty means the
 * apex, `svc.<zone>` or `pod.<zone>`, which answer NODATA.
 */
export interface RecordRequest {
  port: string;
  protocol: string;
  endpoint: string;
  /** The cluster id of a multicluster endpoint name. */
  cluster: string;
  service: string;
  namespace: string;
  podOrSvc: '' | 'svc' | 'pod';
  /** A zone-scoped name's topology zone (`kubernetes { zonal }`), lower case; undefined otherwise. */
  topoZone?: string;
  /** The `prefer` directive: an empty zone falls back to every endpoint (`pin`: NODATA). */
  zonePrefer?: boolean;
}

/**
 * parseRequest splits `name` (lower-case, no trailing dot, inside `zone`)
 * into a RecordRequest; `multicluster` when `zone` is a multicluster zone. It returns undefined for names no record can have
 * (neither svc nor pod under the zone, or too many labels): NXDOMAIN.
 * With `zonal` (outside multicluster zones), `topozone.pin|prefer._zone.service.namespace.svc` is a
 * zone-scoped name (the topology zone is every label left of the directive).
 */
export function parseRequest(name: string, zone: string, multicluster = false, zonal = false): RecordRequest | undefined {
  const r: RecordRequest = { port: '', protocol: '', endpoint: '', cluster: '', service: '', namespace: '', podOrSvc: '' };
  const base = name === zone ? '' : name.slice(0, name.length - zone.length - 1);
  if (base === '' || base === 'svc' || base === 'pod') return r;
  const segs = base.split('.');
  let last = segs.length - 1;
  const kind = segs[last];
  if (kind !== 'svc' && kind !== 'pod') return undefined;
  r.podOrSvc = kind;
  if (--last < 0) return r;
  r.namespace = segs[last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  if (last === 0) {
    r.endpoint = segs[0]!;
    return r;
  }
  // In a multicluster zone two labels without underscores are endpoint.cluster, not _port._proto.
  if (last === 1 && multicluster && !segs[0]!.startsWith('_') && !segs[1]!.startsWith('_')) {
    r.endpoint = segs[0]!;
    r.cluster = segs[1]!;
    return r;
  }
  if (last === 1) {
    r.protocol = stripUnderscore(segs[1]!);
    r.port = stripUnderscore(segs[0]!);
    return r;
  }
  // Zone-scoped names are not defined in multicluster zones (CoreDNS).
  return zonal && !multicluster ? zonalRequest(r, segs, last) : undefined;
}

/** zonalRequest reads `topozone.pin|prefer._zone` left of the service (CoreDNS parseRequest's zonal arm); else the name is too long. */
function zonalRequest(r: RecordRequest, segs: string[], last: number): RecordRequest | undefined {
  if (segs[last] !== '_zone' || r.podOrSvc !== 'svc') return undefined;
  const directive = segs[last - 1];
  if (directive !== 'pin' && directive !== 'prefer') return undefined;
  return { ...r, topoZone: segs.slice(0, last - 1).join('.'), zonePrefer: directive === 'prefer' };
}

function stripUnderscore(label: string): string {
  return label.startsWith('_') ? label.slice(1) : label;
}

/** inZone reports whether `name` is `zone` or below it (both lower-case, no trailing dot). */
export function inZone(name: string, zone: string): boolean {
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name[name.length - zone.length - 1] === '.');
}

/**
 * reverseToIP turns an in-addr.arpa or ip6.arpa name into the address it
 * names, or undefined when the name is not a complete address (a partial
 * reverse zone, or bad labels).
 */
export function reverseToIP(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l) && Number(l) < 256)) return undefined;
    return labels.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    return canonicalIPv6(hex.match(/.{4}/g)!.join(':'));
  }
  return undefined;
}

/** canonicalIPv6 gives the RFC 5952 text of an IPv6 address (lower case, longest zero run as '::'). */
export function canonicalIPv6(address: string): string {
  return formatIPv6(ipv6Groups(address));
}

/** reverseName gives the PTR owner name of an address (no trailing dot). */
export function reverseName(ip: string): string {
  if (ip.includes(':')) {
    const hex = ipv6Groups(ip).map((g) => g.toString(16).padStart(4, '0')).join('');
    return `${[...hex].reverse().join('.')}.ip6.arpa`;
  }
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/**
 * podIPFromName reads the address in a pod name label: `1-2-3-4` for IPv4,
 * dashes for colons for IPv6 (`fd00--1`), as CoreDNS does. Undefined when it
 * is not an address.
 */
export function podIPFromName(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  if (dashes === 3 && !label.includes('--')) {
    const ip = label.replaceAll('-', '.');
    return /^(\d{1,3}\.){3}\d{1,3}$/.test(ip) && ip.split('.').every((o) => Number(o) < 256 && String(Number(o)) === o) ? ip : undefined;
  }
  const ip = label.replaceAll('-', ':');
  if (!/^[0-9a-f:]+$/.test(ip) || ip.includes(':::') || (ip.match(/::/g)?.length ?? 0) > 1) return undefined;
  const groups = ip.split(':');
  if (groups.some((g) => g.length > 4)) return undefined;
  if (!ip.includes('::') && groups.length !== 8) return undefined;
  if (ip.includes('::') && groups.filter((g) => g !== '').length > 7) return undefined;
  return canonicalIPv6(ip);
}

/**
 * endpointName is an endpoint's DNS label: its hostname, else its address
 * with dashes (CoreDNS endpointHostname); an IPv6 address ending in `::`
 * gets a 0, so the label does not end in a dash.
 */
export function endpointName(ip: string, hostname: string | undefined): string {
  if (hostname) return hostname;
  if (!ip.includes(':')) return ip.replaceAll('.', '-');
  const label = ip.replaceAll(':', '-');
  return label.endsWith('-') ? `${label}0` : label;
}
