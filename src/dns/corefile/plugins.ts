import { isIP } from 'node:net';
import type { TransferConfig } from '../transfer.ts';
import { address, duration, fail, fqdn, int, noArgs, noBlock } from './directive-args.ts';
import { CorefileError } from './errors.ts';
import { k8sExternal, type K8sExternalConfig } from './k8s-external.ts';
import { kubernetes, type KubernetesConfig } from './kubernetes.ts';
import { parseLog, parseMetadata, type LogRule, type MetadataConfig } from './metadata.ts';
import type { Directive, ServerBlock } from './parse.ts';

/**
 * The plugins of kubeadm's and kind's default Corefiles (and `hosts`,
 * `rewrite name`, `bind`), read into one ServerConfig per server block,
 * with CoreDNS's syntax and defaults. A plugin or option ferry does not
 * carry out is an error naming it, never ignored.
 */

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
  /** `k8s_external` (./k8s-external.ts); undefined: not used. */
  readonly k8sExternal?: K8sExternalConfig;
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
  k8s_external: (d, c) => (c.k8sExternal = k8sExternal(d, c.zones)),
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
