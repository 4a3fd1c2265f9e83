import { isIP } from 'node:net';
import { formatLabelSelector, parseLabelSelector } from '../../kube/labels.ts';
import { parseDuration } from '../../util/duration.ts';
import type { PodMode } from '../lookup.ts';
import type { TransferConfig } from '../transfer.ts';
import { CorefileError } from './errors.ts';
import { parseLog, parseMetadata, type LogRule, type MetadataConfig } from './metadata.ts';
import type { Directive, ServerBlock } from './parse.ts';

/**
 * The plugins of kubeadm's and kind's default Corefiles (and `hosts`,
 * `rewrite name`, `bind`), read into one ServerConfig per server block,
 * with CoreDNS's syntax and defaults. A plugin or option ferry does not
 * carry out is an error naming it, never ignored.
 */

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

export interface HostsEntry {
  readonly address: string;
  readonly names: readonly string[];
}

export interface HostsConfig {
  /** A hosts(5) file; undefined with inline entries only. */
  readonly file: string | undefined;
  readonly inline: readonly HostsEntry[];
  /** Zones it answers for (FQDN, trailing dot); the server block's by default. */
  readonly zones: readonly string[];
  readonly ttl: number;
  readonly reloadMs: number;
  readonly noReverse: boolean;
  readonly fallthrough: readonly string[] | undefined;
}

export type NameMatch = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';
export interface NameRewrite {
  readonly match: NameMatch;
  /** Lower case; exact/prefix/suffix/substring compare against the name with its trailing dot. */
  readonly from: string;
  readonly to: string;
}

export interface ForwardConfig {
  /** Upstreams as written: ip[:port], dns://ip[:port], or a resolv.conf file. */
  readonly to: readonly string[];
  readonly maxConcurrent: number | undefined;
  readonly policy: 'random' | 'round_robin' | 'sequential';
}

/**
 * CacheConfig is `cache [TTL] { success CAP [TTL [MINTTL]]; denial CAP [TTL [MINTTL]]; disable success|denial ZONES }`.
 * Cluster answers are never cached this way (the handler keeps them prebuilt until the cluster
 * changes), so `disable` is accepted for the kubernetes zone, which is what kubeadm's Corefile says.
 */
export interface CacheConfig {
  readonly capacity: number;
  readonly successTtl: number;
  readonly denialTtl: number;
  readonly minTtl: number | undefined;
  /** Zones named by `disable`, checked against the kubernetes zone once the block is read. */
  readonly disabledZones: readonly string[];
}

export interface ServerConfig {
  readonly zones: readonly string[];
  readonly port: number;
  /** `bind`: listen addresses; default all (0.0.0.0). */
  readonly bind: readonly string[];
  readonly kubernetes: KubernetesConfig | undefined;
  readonly hosts: HostsConfig | undefined;
  readonly rewrites: readonly NameRewrite[];
  readonly forward: ForwardConfig | undefined;
  /** `cache`: how answers from upstream are kept; undefined: not at all. */
  readonly cache: CacheConfig | undefined;
  /** `transfer`: AXFR/IXFR of the cluster zone, to the clients listed. */
  readonly transfer: TransferConfig | undefined;
  readonly health: { readonly address: string; readonly lameduckMs: number } | undefined;
  readonly ready: string | undefined;
  readonly prometheus: string | undefined;
  readonly errors: boolean;
  readonly log: boolean;
  /** `log`'s rules: name scopes, formats and classes (corefile/metadata.ts). */
  readonly logRules: readonly LogRule[];
  /** `metadata [ZONES...]`: metadata for `log`'s `{/label}` placeholders. */
  readonly metadata: MetadataConfig | undefined;
  readonly loop: boolean;
  readonly loadbalance: boolean;
  readonly reload: { readonly intervalMs: number; readonly jitterMs: number } | undefined;
}

const fail = (d: Directive, message: string): never => {
  throw new CorefileError(d.line, `plugin/${d.name}: ${message}`);
};
const noArgs = (d: Directive) => d.args.length > 0 && fail(d, `unexpected argument ${JSON.stringify(d.args[0])}`);
const noBlock = (d: Directive) => d.block.length > 0 && fail(d, `unknown property ${JSON.stringify(d.block[0]!.name)}`);
const fqdn = (z: string) => (z.toLowerCase().endsWith('.') ? z.toLowerCase() : `${z.toLowerCase()}.`);

function duration(d: Directive, text: string | undefined): number {
  try {
    return parseDuration(text ?? '');
  } catch {
    return fail(d, `invalid duration ${JSON.stringify(text)}`);
  }
}

function int(d: Directive, text: string | undefined, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(d, `invalid value ${JSON.stringify(text)}: want an integer within ${min}-${max}`);
  return n;
}

function address(d: Directive, text: string | undefined, fallback: string): string {
  const value = (text ?? fallback).replace(/^localhost:/, '127.0.0.1:');
  if (!/^(\[[0-9a-f:.]+\]|[0-9.]*):\d+$/i.test(value)) fail(d, `invalid address ${JSON.stringify(text)}: want [host]:port`);
  return value;
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

/** flag reads an option that takes no argument (CoreDNS: c.ArgErr otherwise). */
function flag(d: Directive, args: readonly string[]): true {
  if (args.length > 0) fail(d, `Wrong argument count or unexpected line ending after ${JSON.stringify(args[0])}`);
  return true;
}

function kubernetes(d: Directive, blockZones: readonly string[]): KubernetesConfig {
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

function hosts(d: Directive, blockZones: readonly string[]): HostsConfig {
  const file = d.args[0] ?? (d.block.some((o) => isIP(o.name)) ? undefined : '/etc/hosts');
  const zones = d.args.length > 1 ? d.args.slice(1).map(fqdn) : blockZones;
  const inline: HostsEntry[] = [];
  let ttl = 3600;
  let reloadMs = 5000;
  let noReverse = false;
  let fallthrough: string[] | undefined;
  for (const o of d.block) {
    if (isIP(o.name)) {
      if (o.args.length === 0) fail(d, `inline entry ${o.name} without a name`);
      inline.push({ address: o.name, names: o.args.map(fqdn) });
    } else if (o.name === 'ttl') ttl = int(d, o.args[0], 1, 65535);
    else if (o.name === 'reload') reloadMs = duration(d, o.args[0]);
    else if (o.name === 'no_reverse') noReverse = true;
    else if (o.name === 'fallthrough') fallthrough = o.args.length ? o.args.map(fqdn) : ['.'];
    else fail(d, `unknown property ${JSON.stringify(o.name)}`);
  }
  return { file, inline, zones, ttl, reloadMs, noReverse, fallthrough };
}

function rewrite(d: Directive): NameRewrite {
  const args = ['stop', 'continue'].includes(d.args[0]!) ? d.args.slice(1) : d.args;
  if (args[0] !== 'name') fail(d, `the ${JSON.stringify(args[0])} rule is not implemented by ferry (name is)`);
  let rest = args.slice(1);
  const match = (['exact', 'prefix', 'suffix', 'substring', 'regex'] as const).find((m) => m === rest[0]);
  if (match) rest = rest.slice(1);
  if (rest.length !== 2 && !(rest.length >= 4 && rest[2] === 'answer')) fail(d, 'want: rewrite name [exact|prefix|suffix|substring|regex] FROM TO');
  if (rest.length > 2 && !(rest[3] === 'auto' || (rest[3] === 'name' && match === 'regex'))) fail(d, `answer ${rest[3]} is not implemented by ferry (answer auto is, and is the default)`);
  // CoreDNS normalizes exact and suffix names to lower-case FQDNs; prefix and substring stay as written (lower case).
  const lower = (s: string) => (match === 'regex' ? s : match === undefined || match === 'exact' || match === 'suffix' ? fqdn(s) : s.toLowerCase());
  if (match === 'regex') {
    try {
      new RegExp(rest[0]!);
    } catch {
      fail(d, `invalid regex ${JSON.stringify(rest[0])}`);
    }
  }
  return { match: match ?? 'exact', from: lower(rest[0]!), to: lower(rest[1]!) };
}

function cache(d: Directive): CacheConfig {
  if (d.args.length > 1) fail(d, 'zones after the TTL are not implemented by ferry');
  const ttl = d.args[0] === undefined ? undefined : int(d, d.args[0], 1, 604_800);
  let success = { capacity: 9984, ttl: ttl ?? 3600 };
  let denial = { capacity: 9984, ttl: Math.min(ttl ?? 1800, 1800) };
  let minTtl: number | undefined;
  const disabledZones: string[] = [];
  for (const o of d.block) {
    if (o.name === 'success' || o.name === 'denial') {
      if (o.args.length < 1 || o.args.length > 3) fail(d, `${o.name}: want CAPACITY [TTL [MINTTL]]`);
      const entry = { capacity: int(d, o.args[0], 1, 10_000_000), ttl: o.args[1] === undefined ? (o.name === 'success' ? success.ttl : denial.ttl) : int(d, o.args[1], 1, 604_800) };
      if (o.args[2] !== undefined) minTtl = int(d, o.args[2], 0, 604_800);
      if (o.name === 'success') success = entry;
      else denial = entry;
    } else if (o.name === 'disable') {
      if (!['success', 'denial'].includes(o.args[0]!)) fail(d, 'disable: want success or denial');
      disabledZones.push(...(o.args.length > 1 ? o.args.slice(1) : ['.']).map(fqdn));
    } else fail(d, `unknown property ${JSON.stringify(o.name)}${['prefetch', 'serve_stale', 'servfail', 'keepttl'].includes(o.name) ? ' (not implemented by ferry)' : ''}`);
  }
  return { capacity: success.capacity + denial.capacity, successTtl: success.ttl, denialTtl: denial.ttl, minTtl, disabledZones };
}

/** transfer reads `transfer [ZONES] { to * | to ADDR[:PORT]... }` (CoreDNS plugin/transfer setup.go); ferry sends no NOTIFY, so no `source`. */
function transfer(d: Directive, blockZones: readonly string[]): TransferConfig {
  const zones = d.args.length ? d.args.map(fqdn) : blockZones.map(fqdn);
  const to: string[] = [];
  for (const o of d.block) {
    if (o.name !== 'to') fail(d, `unknown property ${JSON.stringify(o.name)}${o.name === 'source' ? ' (not implemented by ferry: it sends no NOTIFY)' : ''}`);
    if (o.args.length === 0) fail(d, 'to: want * or addresses');
    for (const host of o.args) {
      const ip = host === '*' ? host : host.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([0-9.]+):\d+$/, '$1');
      if (ip !== '*' && !isIP(ip)) fail(d, `to: ${JSON.stringify(host)} is not an address`);
      to.push(ip);
    }
  }
  if (to.length === 0) fail(d, "'to' is required");
  return { zones, to };
}

function forward(d: Directive): ForwardConfig {
  const [from, ...to] = d.args;
  if (from !== '.') fail(d, `forwarding only ${JSON.stringify(from)} is not implemented by ferry (forward . is)`);
  if (to.length === 0) fail(d, 'no upstream given');
  for (const u of to) if (/^[a-z]+:\/\//.test(u) && !u.startsWith('dns://')) fail(d, `upstream ${JSON.stringify(u)}: only dns:// is implemented by ferry`);
  let maxConcurrent: number | undefined;
  let policy: ForwardConfig['policy'] = 'random';
  for (const o of d.block) {
    if (o.name === 'max_concurrent') maxConcurrent = int(d, o.args[0], 1, 1_000_000);
    else if (o.name === 'policy') {
      if (!['random', 'round_robin', 'sequential'].includes(o.args[0]!)) fail(d, `unknown policy ${JSON.stringify(o.args[0])}`);
      policy = o.args[0] as ForwardConfig['policy'];
    } else fail(d, `unknown property ${JSON.stringify(o.name)}${o.name === 'tls' ? ' (not implemented by ferry)' : ''}`);
  }
  return { to, maxConcurrent, policy };
}

/** What each directive accepts; the value reads it into the draft config. */
type Draft = { -readonly [K in keyof ServerConfig]: ServerConfig[K] };
const PLUGINS: Record<string, (d: Directive, c: Draft) => void> = {
  errors: (d, c) => (noArgs(d), noBlock(d), (c.errors = true)),
  log: (d, c) => ((c.log = true), (c.logRules = [...c.logRules, ...parseLog(d)])),
  metadata: (d, c) => (c.metadata = parseMetadata(d, c.zones)),
  loop: (d, c) => (noArgs(d), noBlock(d), (c.loop = true)),
  loadbalance: (d, c) => {
    if (d.args.length > 0 && d.args[0] !== 'round_robin') fail(d, `policy ${JSON.stringify(d.args[0])} is not implemented by ferry (round_robin is)`);
    noBlock(d);
    c.loadbalance = true;
  },
  health: (d, c) => {
    let lameduckMs = 0;
    for (const o of d.block) o.name === 'lameduck' ? (lameduckMs = duration(d, o.args[0])) : fail(d, `unknown property ${JSON.stringify(o.name)}`);
    c.health = { address: address(d, d.args[0], ':8080'), lameduckMs };
  },
  ready: (d, c) => (noBlock(d), (c.ready = address(d, d.args[0], ':8181'))),
  prometheus: (d, c) => (noBlock(d), (c.prometheus = address(d, d.args[0], 'localhost:9153'))),
  reload: (d, c) => {
    noBlock(d);
    const intervalMs = d.args[0] ? duration(d, d.args[0]) : 30_000;
    const jitterMs = d.args[1] ? duration(d, d.args[1]) : Math.min(15_000, intervalMs / 2);
    if (intervalMs < 2000) fail(d, 'interval value must be greater or equal to 2s');
    if (jitterMs > intervalMs / 2) fail(d, 'jitter value must be smaller than half of the interval');
    c.reload = { intervalMs, jitterMs };
  },
  cache: (d, c) => (c.cache = cache(d)),
  bind: (d, c) => {
    noBlock(d);
    if (d.args.length === 0) fail(d, 'want an address');
    for (const a of d.args) if (!isIP(a)) fail(d, `${JSON.stringify(a)}: interface names are not implemented by ferry, give an IP address`);
    c.bind = [...d.args];
  },
  kubernetes: (d, c) => (c.kubernetes = kubernetes(d, c.zones)),
  hosts: (d, c) => (c.hosts = hosts(d, c.zones)),
  rewrite: (d, c) => (noBlock(d), (c.rewrites = [...c.rewrites, rewrite(d)])),
  forward: (d, c) => (c.forward = forward(d)),
  transfer: (d, c) => (c.transfer = transfer(d, c.zones)),
};

/**
 * serverConfig reads one server block. Every directive must be a plugin
 * ferry implements; each but `rewrite` may appear once.
 */
export function serverConfig(block: ServerBlock): ServerConfig {
  const ports = new Set(block.keys.map((k) => k.port));
  if (ports.size > 1) throw new CorefileError(block.line, 'the keys of one server block must share a port');
  const c: Draft = {
    zones: block.keys.map((k) => k.zone), port: block.keys[0]!.port, bind: [], kubernetes: undefined, hosts: undefined, rewrites: [], forward: undefined,
    cache: undefined, transfer: undefined, health: undefined, ready: undefined, prometheus: undefined, errors: false, log: false, logRules: [], metadata: undefined, loop: false, loadbalance: false, reload: undefined,
  };
  const seen = new Set<string>();
  for (const d of block.directives) {
    if (d.name === 'import') throw new CorefileError(d.line, 'import is not implemented by ferry');
    const plugin = PLUGINS[d.name];
    if (!plugin) throw new CorefileError(d.line, `Unknown directive '${d.name}'`);
    if (seen.has(d.name) && d.name !== 'rewrite' && d.name !== 'log') fail(d, 'this plugin can only be used once per Server Block');
    seen.add(d.name);
    plugin(d, c);
  }
  const clusterZone = c.kubernetes ? `${c.kubernetes.zone}.` : undefined;
  for (const zone of c.cache?.disabledZones ?? []) {
    if (clusterZone === undefined || !(zone === clusterZone || zone.endsWith(`.${clusterZone}`))) {
      const line = block.directives.find((d) => d.name === 'cache')!.line;
      throw new CorefileError(line, `plugin/cache: disable for ${zone} is not implemented by ferry (only for the kubernetes zone, whose answers it never caches)`);
    }
  }
  return c;
}
