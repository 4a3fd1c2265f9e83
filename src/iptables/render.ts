import type { ProxyState } from '../endpoints/proxy-state.ts';
import { isServiceChain } from './chain-names.ts';
import {
  FILTER_CHAINS,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_SERVICES,
  CT_STATE_INVALID_DROPPED_COUNTER,
  NAT_CHAINS,
  type JumpRule,
} from './fixed-chains.ts';
import { LARGE_CLUSTER_ENDPOINTS, nfacctMatch, renderService, type RenderOptions, type ServiceFragment } from './render-service.ts';
import { comment, TableBuffer } from './rule-buffer.ts';

export type { RenderOptions } from './render-service.ts';

/**
 * FragmentCache holds each service's last rendered fragment, owned by the
 * caller across syncs. Partial renders reuse the fragments of unchanged
 * services instead of recomputing 10k services' rules for one change; full
 * renders recompute everything (options such as node IPs may have changed).
 */
export type FragmentCache = Map<string, ServiceFragment>;

/** RenderInput is one sync's worth of input to the pure renderer. */
export interface RenderInput {
  readonly state: ProxyState;
  /** Rewrite every service's chains; otherwise only those of `state.changed`. */
  readonly full: boolean;
  /** Per-service nat chains currently installed: those no longer in use get deleted. */
  readonly installedChains: ReadonlySet<string>;
  /** Jump rules missing from the built-in chains, to insert at their top. */
  readonly jumps: readonly JumpRule[];
}

/** Rendered is one iptables-restore input and what it leaves installed. */
export interface Rendered {
  readonly text: string;
  /** Per-service nat chains in use once `text` is restored. */
  readonly activeChains: ReadonlySet<string>;
  readonly deletedChains: number;
  /** Rules in our chains per table once `text` is restored (written plus left in place; not the jumps). */
  readonly ruleCounts: { readonly filter: number; readonly nat: number };
  /** Rules `text` writes per table (kube-proxy's sync_proxy_rules_iptables_last): no jumps, no chain deletions. */
  readonly writtenRuleCounts: { readonly filter: number; readonly nat: number };
}

/**
 * renderRules turns a ProxyState into one iptables-restore --noflush input
 * for *filter and *nat. The text depends only on the input and options (the
 * cache only saves work): the fixed chains are rewritten every time;
 * per-service chains only for changed services unless `full`; chains no
 * longer used are flushed and deleted.
 */
export function renderRules(input: RenderInput, options: RenderOptions, cache: FragmentCache = new Map()): Rendered {
  const filter = new TableBuffer('filter');
  const nat = new TableBuffer('nat');
  for (const c of FILTER_CHAINS) filter.declare(c);
  for (const c of NAT_CHAINS) nat.declare(c);
  filter.declare(KUBE_PROXY_CANARY);
  nat.declare(KUBE_PROXY_CANARY);
  const ipv6 = options.ipFamily === 6;
  // route_localnet has no IPv6 counterpart: ::1 never takes NodePorts, whatever the flags say.
  const localhostNodePorts = options.localhostNodePorts && !ipv6;
  if (localhostNodePorts) writeLocalnetFirewall(filter);
  for (const j of input.jumps) (j.table === 'filter' ? filter : nat).raw(['-I', j.from, ...j.args, '-j', j.to].join(' '));

  writeFixedRules(filter, nat, options);

  const active = new Set<string>();
  // Rules of unchanged services' chains stay installed; they count towards the
  // nat total as in kube-proxy (sync_proxy_rules_iptables_total{table}).
  let skippedNatRules = 0;
  const { state } = input;
  const largeCluster = isLargeCluster(state);
  for (const svc of state.services.values()) {
    if (svc.clusterIPs.length === 0) continue; // headless: nothing to proxy
    const write = input.full || state.changed.has(svc.key);
    let fragment = write ? undefined : cache.get(svc.key);
    if (!fragment) {
      fragment = renderService(options, svc, state.endpoints.get(svc.key) ?? [], largeCluster);
      cache.set(svc.key, fragment);
    }
    for (const line of fragment.filterRules) filter.raw(line);
    for (const line of fragment.natDispatch) nat.raw(line);
    for (const chain of fragment.chains) active.add(chain);
    if (!write) {
      skippedNatRules += fragment.chainRules.length;
      continue;
    }
    for (const chain of fragment.chains) nat.declare(chain);
    for (const line of fragment.chainRules) nat.raw(line);
  }
  for (const key of cache.keys()) if (!state.services.has(key)) cache.delete(key);
  writeNodePortDispatch(nat, options.nodePortIPs, localhostNodePorts, ipv6);

  let deletedChains = 0;
  for (const chain of [...input.installedChains].sort()) {
    if (active.has(chain) || !isServiceChain(chain)) continue;
    nat.declare(chain); // flushes it, so nothing it references blocks the delete
    nat.raw(`-X ${chain}`);
    deletedChains++;
  }
  const filterWritten = filter.ruleCount - input.jumps.filter((j) => j.table === 'filter').length;
  const natWritten = nat.ruleCount - deletedChains - input.jumps.filter((j) => j.table === 'nat').length;
  return {
    // The mangle canary only needs (re)creating when everything is rewritten.
    text: filter.text() + nat.text() + (input.full ? `*mangle\n:${KUBE_PROXY_CANARY} - [0:0]\nCOMMIT\n` : ''),
    activeChains: active,
    deletedChains,
    ruleCounts: { filter: filterWritten, nat: natWritten + skippedNatRules },
    writtenRuleCounts: { filter: filterWritten, nat: natWritten },
  };
}

/**
 * isLargeCluster is kube-proxy's large-cluster mode, decided at each sync.
 * As there, crossing the threshold does not force a full sync: unchanged
 * services keep the rules they were written with until the next full one.
 */
function isLargeCluster(state: ProxyState): boolean {
  let total = 0;
  for (const key of state.services.keys()) total += state.endpoints.get(key)?.length ?? 0;
  return total > LARGE_CLUSTER_ENDPOINTS;
}

function writeFixedRules(filter: TableBuffer, nat: TableBuffer, options: RenderOptions): void {
  const mark = options.masqueradeMark;
  // Out-of-window packets conntrack calls INVALID would otherwise reach an endpoint un-NATed and be reset (kubernetes#74839).
  if (!options.conntrackTCPLiberal) filter.append(KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', ...nfacctMatch(options, CT_STATE_INVALID_DROPPED_COUNTER), '-j', 'DROP');
  filter.append(KUBE_FORWARD, ...comment('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filter.append(KUBE_FORWARD, ...comment('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
  nat.append(KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', mark);
  nat.append(KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  // Clear the mark so a packet that is re-processed (e.g. an IPsec tunnel) is not masqueraded twice.
  nat.append(KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', mark);
  const random = options.randomFully ? ['--random-fully'] : [];
  nat.append(KUBE_POSTROUTING, ...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', ...random);
}

const NODEPORTS_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/**
 * writeNodePortDispatch jumps to KUBE-NODEPORTS for the NodePort addresses.
 * Without localhost NodePorts (always so for IPv6) loopback is kept out: a
 * DNATed loopback packet is a martian the kernel logs about.
 */
function writeNodePortDispatch(nat: TableBuffer, nodePortIPs: readonly string[] | 'all', localhost: boolean, ipv6: boolean): void {
  if (nodePortIPs === 'all') {
    const notLoopback = localhost ? [] : ['!', '-d', ipv6 ? '::1/128' : '127.0.0.0/8'];
    nat.append(KUBE_SERVICES, ...comment(NODEPORTS_COMMENT), '-m', 'addrtype', '--dst-type', 'LOCAL', ...notLoopback, '-j', KUBE_NODEPORTS);
    return;
  }
  for (const ip of nodePortIPs) {
    if (!localhost && (ipv6 ? ip === '::1' : ip.startsWith('127.'))) continue;
    nat.append(KUBE_SERVICES, ...comment(NODEPORTS_COMMENT), '-d', ip, '-j', KUBE_NODEPORTS);
  }
}

/**
 * writeLocalnetFirewall writes KUBE-FIREWALL as kube-proxy does with
 * localhost NodePorts: route_localnet=1 would let other hosts reach services
 * bound to 127.0.0.1, so new connections to 127.0.0.0/8 that do not come
 * from loopback and were not DNATed (NodePorts were) are dropped.
 */
function writeLocalnetFirewall(filter: TableBuffer): void {
  filter.declare(KUBE_FIREWALL);
  filter.append(KUBE_FIREWALL, ...comment('block incoming localnet connections'), '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP');
}
