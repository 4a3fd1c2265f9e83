import { formatLabelSelector, parseLabelSelector } from '../../kube/labels.ts';
import type { PodMode } from '../lookup.ts';
import { duration, fail, flag, fqdn, int } from './directive-args.ts';
import type { Directive } from './parse.ts';

/** The `kubernetes` plugin's options, read as CoreDNS's setup.go reads them. */

export interface KubernetesConfig {
  /** The cluster zone, lower case, no trailing dot. */
  readonly zone: string;
  readonly podMode: PodMode;
  readonly ttl: number;
  /**
   * Reverse zones it is authoritative for (lower case, no trailing dot), as
   * listed: a PTR there is answered from the cluster, or NXDOMAIN with that
   * zone's SOA unless `fallthrough` covers it.
   */
  readonly reverseZones: readonly string[];
  /** `multicluster` zones (lower case, no trailing dot), each one of the plugin's zones: answered from ServiceImports. */
  readonly multiclusterZones: readonly string[];
  /** The plugin's other zones (`kubernetes coredns.local test.local`), answered as `zone` is (lower case, no trailing dot). */
  readonly otherZones: readonly string[];
  /** Zones whose NXDOMAINs go on to the next plugin (FQDNs; `.` for every zone); undefined: none. */
  readonly fallthrough: readonly string[] | undefined;
  /** Exposed namespaces; empty: all. */
  readonly namespaces: readonly string[];
  readonly noEndpoints: boolean;
  /** endpoint_pod_names: an endpoint without a hostname is named after its pod, not its dashed address. */
  readonly endpointPodNames: boolean;
  /** `ignore empty_service`: a ClusterIP Service without a ready endpoint is NXDOMAIN. */
  readonly ignoreEmptyService: boolean;
  /** `zonal`: zone-scoped names of headless services (`us-west-2a.pin._zone.db.prod.svc.<zone>`). */
  readonly zonal: boolean;
  /** `labels`: only Services, EndpointSlices (and pods) matching this selector are watched; '' all. Canonical form. */
  readonly labels: string;
  /** `namespace_labels`: only namespaces matching this selector are exposed; '' all. Canonical form. */
  readonly namespaceLabels: string;
  /** `endpoint URL...`: the API server (the first URL, as CoreDNS); undefined: `--server`/`--kubeconfig`. */
  readonly endpoint: string | undefined;
  /** `kubeconfig FILE [CONTEXT]`: how to reach the API server; it wins over `endpoint`, as in CoreDNS. */
  readonly kubeconfig: { readonly file: string; readonly context: string | undefined } | undefined;
  /**
   * `startup_timeout DURATION`: how long to wait for the informers to sync
   * before serving (CoreDNS's default is 5 s; ferry's is 0: it serves at once
   * and answers SERVFAIL for what it cannot know yet).
   */
  readonly startupTimeoutMs: number;
  /** `apiserver_qps`, `apiserver_burst`, `apiserver_max_inflight`: the API client's rate limits (0: none). */
  readonly apiLimits: { readonly qps: number; readonly burst: number; readonly maxInflight: number };
}

/**
 * selector reads a label selector option (its arguments joined by spaces, as
 * CoreDNS's) into apimachinery's canonical form: requirements sorted by key,
 * set values sorted, so equal selectors compare equal.
 */
function selector(d: Directive, args: readonly string[], what: string): string {
  if (args.length === 0) fail(d, 'Wrong argument count or unexpected line ending');
  const text = args.join(' ');
  try {
    const reqs = parseLabelSelector(text).map((r) => (r.operator === 'in' || r.operator === 'notin' ? { ...r, values: [...r.values].sort() } : r));
    return formatLabelSelector(reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  } catch (error) {
    return fail(d, `unable to parse ${what} selector value: '${text}': ${(error as Error).message}`);
  }
}

/** nonNegative reads an `apiserver_*` limit (CoreDNS setup.go): one number, an integer when `integer`, at least 0. */
function nonNegative(d: Directive, o: Directive, integer: boolean): number {
  if (o.args.length !== 1) fail(d, 'Wrong argument count or unexpected line ending');
  const n = Number(o.args[0]);
  if (o.args[0] === '' || Number.isNaN(n) || (integer && !Number.isInteger(n))) fail(d, `invalid ${o.name} ${JSON.stringify(o.args[0])}`);
  if (n < 0) fail(d, `${o.name} must be >= 0`);
  return n;
}

export function kubernetes(d: Directive, blockZones: readonly string[]): KubernetesConfig {
  const zones = (d.args.length ? d.args : blockZones).map(fqdn);
  const multicluster = d.block.filter((o) => o.name === 'multicluster').flatMap((o) => o.args.map(fqdn));
  for (const z of multicluster) if (!zones.includes(z)) fail(d, `is not authoritative for the multicluster zone ${z} (authoritative zones: ${zones.join(' ')})`);
  const isReverse = (z: string) => z.endsWith('in-addr.arpa.') || z.endsWith('ip6.arpa.');
  // CoreDNS's primary zone is the first that is not a reverse zone; the others must be multicluster zones here.
  const forwardZones = zones.filter((z) => !isReverse(z));
  // The others are served the same records (CoreDNS answers every zone of the plugin alike).
  const otherZones = forwardZones.slice(1).filter((z) => !multicluster.includes(z)).map((z) => z.slice(0, -1));
  if (forwardZones.length === 0 || forwardZones.includes('.')) fail(d, `want cluster zones besides in-addr.arpa and ip6.arpa (not the root), got ${JSON.stringify(forwardZones)}`);
  const zone = forwardZones[0]!.slice(0, -1);
  const reverseZones = zones.filter(isReverse).map((z) => z.slice(0, -1));
  let podMode: PodMode = 'disabled';
  let ttl = 5;
  let fallthrough: string[] | undefined;
  let namespaces: string[] = [];
  let noEndpoints = false;
  let endpointPodNames = false;
  let ignoreEmptyService = false;
  let zonal = false;
  let labels = '';
  let namespaceLabels = '';
  let endpoint: string | undefined;
  let kubeconfig: KubernetesConfig['kubeconfig'];
  let startupTimeoutMs = 0;
  const apiLimits = { qps: 0, burst: 0, maxInflight: 0 };
  for (const o of d.block) {
    const opt = { ...o, name: `kubernetes: ${o.name}` };
    if (o.name === 'pods') {
      if (o.args.length !== 1 || !['insecure', 'verified', 'disabled'].includes(o.args[0]!)) fail(opt, 'wrong value for pods: want one of disabled, insecure, verified');
      podMode = o.args[0] as PodMode;
    } else if (o.name === 'ttl') ttl = int(opt, o.args[0], 0, 3600);
    else if (o.name === 'fallthrough') {
      // CoreDNS: no zones means every zone of the plugin.
      fallthrough = o.args.length ? o.args.map(fqdn) : ['.'];
    } else if (o.name === 'namespaces') {
      if (o.args.length === 0) fail(opt, 'Wrong argument count or unexpected line ending: want namespaces');
      namespaces = [...o.args];
    } else if (o.name === 'noendpoints') noEndpoints = flag(opt, o.args);
    else if (o.name === 'endpoint_pod_names') endpointPodNames = flag(opt, o.args);
    else if (o.name === 'multicluster') continue; // read above
    else if (o.name === 'zonal') zonal = flag(opt, o.args);
    else if (o.name === 'labels') labels = selector(opt, o.args, 'label');
    else if (o.name === 'namespace_labels') namespaceLabels = selector(opt, o.args, 'namespace_label');
    else if (o.name === 'endpoint') {
      if (o.args.length === 0) fail(opt, 'Wrong argument count or unexpected line ending');
      for (const url of o.args) if (!/^(https?|unix):\/\//.test(url)) fail(opt, `${JSON.stringify(url)}: want an http://, https:// or unix:// URL`);
      endpoint = o.args[0];
    } else if (o.name === 'kubeconfig') {
      if (o.args.length !== 1 && o.args.length !== 2) fail(opt, 'Wrong argument count or unexpected line ending after kubeconfig');
      kubeconfig = { file: o.args[0]!, context: o.args[1] };
    } else if (o.name === 'startup_timeout') {
      if (o.args.length !== 1) fail(opt, 'Wrong argument count or unexpected line ending');
      startupTimeoutMs = duration(opt, o.args[0]);
    } else if (o.name === 'apiserver_qps') apiLimits.qps = nonNegative(opt, o, false);
    else if (o.name === 'apiserver_burst') apiLimits.burst = nonNegative(opt, o, true);
    else if (o.name === 'apiserver_max_inflight') apiLimits.maxInflight = nonNegative(opt, o, true);
    else if (o.name === 'ignore') {
      if (o.args[0] !== 'empty_service') fail(opt, `unable to parse ignore value: ${JSON.stringify(o.args[0] ?? '')}`);
      ignoreEmptyService = true;
    } else fail(d, `unknown property ${JSON.stringify(o.name)}${o.name === 'tls' ? ' (not implemented by ferry)' : ''}`);
  }
  // Zonal names select among endpoints; without them every zonal name would be NXDOMAIN (CoreDNS setup.go).
  if (zonal && noEndpoints) fail(d, 'zonal requires the endpoint cache; remove noendpoints');
  if (namespaces.length > 0 && namespaceLabels !== '') fail(d, 'namespaces and namespace_labels cannot both be set');
  return {
    zone, podMode, ttl, reverseZones, multiclusterZones: multicluster.map((z) => z.slice(0, -1)), otherZones, fallthrough, namespaces, noEndpoints, endpointPodNames,
    ignoreEmptyService, zonal, labels, namespaceLabels, endpoint, kubeconfig, startupTimeoutMs, apiLimits,
  };
}

/** handlerZones gives the handler's zone options (no trailing dots) for a `kubernetes` config, or none without one. */
export function handlerZones(k: KubernetesConfig | undefined): { zone: string; otherZones: readonly string[]; reverseZones: readonly string[]; multiclusterZones: readonly string[]; fallthrough: readonly string[] } {
  if (!k) return { zone: 'invalid', otherZones: [], reverseZones: [], multiclusterZones: [], fallthrough: [] }; // `.invalid` never exists (RFC 6761)
  return { zone: k.zone, otherZones: k.otherZones, reverseZones: k.reverseZones, multiclusterZones: k.multiclusterZones, fallthrough: k.fallthrough?.map((z) => (z === '.' ? z : z.slice(0, -1))) ?? [] };
}

/** pluginZones lists every zone the plugin answers (no trailing dots): the cluster zones, multicluster and reverse zones. */
export function pluginZones(k: KubernetesConfig): string[] {
  return [k.zone, ...k.otherZones, ...k.multiclusterZones, ...k.reverseZones];
}
