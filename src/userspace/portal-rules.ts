/**
 * Portal rules steer service traffic into the userspace listeners (nat table):
 *
 *   PREROUTING ─► KUBE-PORTALS-CONTAINER   -d <clusterIP|externalIP|lbIP> --dport <port> -j REDIRECT --to-ports <proxyPort>
 *   PREROUTING ─(dst LOCAL)► KUBE-NODEPORT-CONTAINER   --dport <nodePort> -j REDIRECT --to-ports <proxyPort>
 *   OUTPUT ─► KUBE-PORTALS-HOST   -d <ip> --dport <port> -j DNAT --to-destination 127.0.0.1:<proxyPort>
 *   OUTPUT ─(dst LOCAL)► KUBE-NODEPORT-HOST   --dport <nodePort> -j DNAT --to-destination 127.0.0.1:<proxyPort>
 *
 * REDIRECT rewrites a forwarded packet to the receiving interface's address,
 * where the listener (bound to 0.0.0.0) takes it; locally generated packets
 * are DNATed to loopback, as upstream did with the host IP. This module is
 * pure: it renders rules and restore text; applying them is portal-runner.ts.
 */

export const CHAIN_PORTALS_CONTAINER = 'KUBE-PORTALS-CONTAINER';
export const CHAIN_PORTALS_HOST = 'KUBE-PORTALS-HOST';
export const CHAIN_NODEPORT_CONTAINER = 'KUBE-NODEPORT-CONTAINER';
export const CHAIN_NODEPORT_HOST = 'KUBE-NODEPORT-HOST';

export const PORTAL_CHAINS = [CHAIN_PORTALS_CONTAINER, CHAIN_PORTALS_HOST, CHAIN_NODEPORT_CONTAINER, CHAIN_NODEPORT_HOST] as const;

/** JumpRule hooks one portal chain into a built-in nat chain; `args` are restore-file text. */
export interface JumpRule {
  readonly from: 'PREROUTING' | 'OUTPUT';
  readonly to: string;
  readonly args: string;
}

/** JUMP_RULES send traffic from the built-in nat chains into ours, in order (ClusterIPs before NodePorts). */
export const JUMP_RULES: readonly JumpRule[] = [
  { from: 'PREROUTING', to: CHAIN_PORTALS_CONTAINER, args: '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"' },
  { from: 'PREROUTING', to: CHAIN_NODEPORT_CONTAINER, args: '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"' },
  { from: 'OUTPUT', to: CHAIN_PORTALS_HOST, args: '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"' },
  { from: 'OUTPUT', to: CHAIN_NODEPORT_HOST, args: '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"' },
];

/** savedJumps finds, in an `iptables-save -t nat` dump, the lines of our jump rules (any spelling, any count). */
export function savedJumps(natDump: string): string[] {
  return natDump.split('\n').filter((l) => JUMP_RULES.some((j) => l.startsWith(`-A ${j.from} `) && l.endsWith(` -j ${j.to}`)));
}

/** renderJumps renders the restore text adding the jumps missing from a nat dump, or undefined when none is. */
export function renderJumps(natDump: string): string | undefined {
  const present = savedJumps(natDump);
  const missing = JUMP_RULES.filter((j) => !present.some((l) => l.startsWith(`-A ${j.from} `) && l.endsWith(` -j ${j.to}`)));
  if (missing.length === 0) return undefined;
  return ['*nat', ...missing.map((j) => `-A ${j.from} ${j.args} -j ${j.to}`), 'COMMIT', ''].join('\n');
}

/** renderRemoval renders the restore text deleting our jumps and the existing portal chains, or undefined. */
export function renderRemoval(natDump: string, existing: readonly string[]): string | undefined {
  const jumps = savedJumps(natDump).map((l) => `-D ${l.slice(3)}`);
  const chains = PORTAL_CHAINS.filter((c) => existing.includes(c));
  if (jumps.length === 0 && chains.length === 0) return undefined;
  // Declaring a chain flushes it, so it can then be deleted in the same transaction.
  return ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...jumps, ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}

/** Portal is what the rules of one service port need. */
export interface Portal {
  readonly serviceKey: string;
  readonly protocol: 'TCP' | 'UDP';
  /** ClusterIPs, externalIPs and load balancer IPs (IPv4). */
  readonly ips: readonly string[];
  readonly port: number;
  /** 0: no node port. */
  readonly nodePort: number;
  readonly proxyPort: number;
}

/** renderPortal returns the `-A ...` lines (without the `-A`) of one service port's portal rules. */
export function renderPortal(p: Portal): string[] {
  const proto = p.protocol.toLowerCase();
  const comment = `-m comment --comment ${quote(p.serviceKey)}`;
  const match = (port: number) => `-p ${proto} -m ${proto} --dport ${port}`;
  const redirect = `-j REDIRECT --to-ports ${p.proxyPort}`;
  const dnat = `-j DNAT --to-destination 127.0.0.1:${p.proxyPort}`;
  const lines: string[] = [];
  for (const ip of p.ips) {
    lines.push(`${CHAIN_PORTALS_CONTAINER} ${comment} -d ${ip}/32 ${match(p.port)} ${redirect}`);
    lines.push(`${CHAIN_PORTALS_HOST} ${comment} -d ${ip}/32 ${match(p.port)} ${dnat}`);
  }
  if (p.nodePort > 0) {
    lines.push(`${CHAIN_NODEPORT_CONTAINER} ${comment} ${match(p.nodePort)} ${redirect}`);
    lines.push(`${CHAIN_NODEPORT_HOST} ${comment} ${match(p.nodePort)} ${dnat}`);
  }
  return lines;
}

/** quote renders a restore-file argument, quoting it when it has characters the parser would split on. */
function quote(s: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * renderRestore renders one `iptables-restore --noflush` input that moves the
 * portal chains from `previous` to `next` (rule lines per service key).
 * `full` flushes (or creates) all four chains and writes every rule; otherwise
 * only services whose rules differ are touched: their old rules deleted and
 * their new ones appended. Returns undefined when there is nothing to do.
 */
export function renderRestore(previous: ReadonlyMap<string, readonly string[]>, next: ReadonlyMap<string, readonly string[]>, full: boolean): string | undefined {
  const out: string[] = ['*nat'];
  if (full) {
    for (const chain of PORTAL_CHAINS) out.push(`:${chain} - [0:0]`);
    for (const lines of next.values()) for (const l of lines) out.push(`-A ${l}`);
  } else {
    for (const [key, old] of previous) {
      const now = next.get(key);
      if (now && sameLines(old, now)) continue;
      for (const l of old) out.push(`-D ${l}`);
    }
    for (const [key, now] of next) {
      const old = previous.get(key);
      if (old && sameLines(old, now)) continue;
      for (const l of now) out.push(`-A ${l}`);
    }
    if (out.length === 1) return undefined;
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}
