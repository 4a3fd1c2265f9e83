import { fail } from './directive-args.ts';
import type { Directive } from './parse.ts';

/**
 * K8sExternalConfig is `k8s_external [ZONE...] { apex APEX; ttl TTL; headless; fallthrough [ZONE...] }`
 * (CoreDNS plugin/k8s_external/setup.go, coredns/coredns@4b26cced3: those four options, no other).
 */
export interface K8sExternalConfig {
  /** Zones it is authoritative for: lower case, no trailing dot; the server block's by default. */
  readonly zones: readonly string[];
  /** The label of the subdomain holding the name server records (`dns`). */
  readonly apex: string;
  readonly ttl: number;
  /** `headless`: headless Services (without external IPs) answer with their endpoints. */
  readonly headless: boolean;
  /** Zones whose NXDOMAINs go on to the next plugin (lower case, no trailing dot; '' is every zone); undefined: none. */
  readonly fallthrough: readonly string[] | undefined;
}

const bare = (z: string) => z.toLowerCase().replace(/\.$/, '');

/** k8sExternal reads the directive; `blockZones` are the server block's zones (FQDNs). */
export function k8sExternal(d: Directive, blockZones: readonly string[]): K8sExternalConfig {
  const zones = (d.args.length > 0 ? d.args : blockZones).map(bare);
  let apex = 'dns';
  let ttl = 5;
  let headless = false;
  let fallthrough: string[] | undefined;
  for (const o of d.block) {
    if (o.name === 'ttl') {
      if (o.args.length === 0) fail(d, 'Wrong argument count or unexpected line ending');
      const t = Number(o.args[0]);
      if (!/^-?\d+$/.test(o.args[0]!)) fail(d, `invalid ttl ${JSON.stringify(o.args[0])}`);
      if (t < 0 || t > 3600) fail(d, `ttl must be in range [0, 3600]: ${t}`);
      ttl = t;
    } else if (o.name === 'apex') {
      if (o.args.length === 0) fail(d, 'Wrong argument count or unexpected line ending');
      apex = o.args[0]!.toLowerCase();
    } else if (o.name === 'headless') headless = true;
    else if (o.name === 'fallthrough') fallthrough = o.args.length > 0 ? o.args.map(bare) : [''];
    else fail(d, `unknown property '${o.name}'`);
  }
  return { zones, apex, ttl, headless, fallthrough };
}
