import type { IptablesRunner } from '../../src/iptables/runner.ts';
import { IptablesRestoreError } from '../../src/iptables/errors.ts';

/**
 * FakeIptables is a stateful fake of the iptables runner: it parses
 * iptables-restore --noflush text into tables of chains of rules, the way the
 * kernel would apply it (declaring a chain flushes it; -A/-I/-D/-X), and can
 * dump itself as iptables-save text. Nothing is recorded about calls.
 */
export class FakeIptables implements IptablesRunner {
  readonly backend = 'nft' as const;
  readonly tables = new Map<string, Map<string, string[]>>();
  /** Restores the fake has applied, for tests that look at what one sync sent. */
  readonly restores: string[] = [];
  /** When set, the next restore fails as iptables-restore would on this line. */
  failNextRestore: number | undefined;

  constructor() {
    for (const [t, builtins] of Object.entries(BUILTINS)) this.tables.set(t, new Map(builtins.map((c) => [c, []])));
  }

  async restore(text: string): Promise<void> {
    if (this.failNextRestore !== undefined) {
      const line = this.failNextRestore;
      this.failNextRestore = undefined;
      throw new IptablesRestoreError('iptables-restore failed: injected', line, text.split('\n')[line - 1]);
    }
    this.apply(text);
    this.restores.push(text);
  }

  /** apply parses and applies restore text atomically per call (a bad line throws, leaving state as it was). */
  apply(text: string): void {
    const next = new Map([...this.tables].map(([t, cs]) => [t, new Map([...cs].map(([c, r]) => [c, [...r]]))]));
    let table: Map<string, string[]> | undefined;
    text.split('\n').forEach((line, i) => {
      const fail = (why: string) => {
        throw new IptablesRestoreError(`fake iptables-restore: ${why}`, i + 1, line);
      };
      if (line === '' || line.startsWith('#') || line === 'COMMIT') return;
      if (line.startsWith('*')) {
        const name = line.slice(1);
        if (!next.has(name)) next.set(name, new Map());
        table = next.get(name);
        return;
      }
      if (!table) return fail('rule outside a table');
      if (line.startsWith(':')) {
        const chain = line.slice(1).split(' ')[0]!;
        table.set(chain, []);
        return;
      }
      const words = tokenize(line);
      const [op, chain] = words;
      const rules = chain === undefined ? undefined : table.get(chain);
      if (!rules) return fail(`chain ${chain} does not exist`);
      const spec = words.slice(2).join(' ');
      const target = targetOf(words);
      if ((op === '-A' || op === '-I') && target && !TERMINALS.has(target) && !table.has(target)) return fail(`chain ${target} does not exist`);
      if (op === '-A') rules.push(spec);
      else if (op === '-I') rules.unshift(spec);
      else if (op === '-D') {
        const at = rules.indexOf(spec);
        if (at < 0) return fail('rule to delete does not exist');
        rules.splice(at, 1);
      } else if (op === '-X') {
        for (const [c, rs] of table) if (c !== chain && rs.some((r) => targetOf(tokenize(r)) === chain)) return fail(`chain ${chain} is referenced`);
        table.delete(chain!);
      } else return fail(`unknown operation ${op}`);
    });
    this.tables.clear();
    for (const [t, cs] of next) this.tables.set(t, cs);
  }

  async save(table: string): Promise<string> {
    const chains = this.tables.get(table) ?? new Map<string, string[]>();
    const lines = [`*${table}`];
    for (const c of chains.keys()) lines.push(`:${c} ${BUILTINS[table]?.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
    for (const [c, rules] of chains) for (const r of rules) lines.push(`-A ${c} ${r}`);
    return [...lines, 'COMMIT', ''].join('\n');
  }

  async chainExists(table: string, chain: string): Promise<boolean> {
    return this.tables.get(table)?.has(chain) ?? false;
  }

  /** chains lists a table's chain names. */
  chains(table: string): string[] {
    return [...(this.tables.get(table)?.keys() ?? [])];
  }

  rules(table: string, chain: string): readonly string[] {
    return this.tables.get(table)?.get(chain) ?? [];
  }
}

const BUILTINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};

const TERMINALS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);

/** tokenize splits a rule into words, keeping "quoted comments" as one word without quotes. */
export function tokenize(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function targetOf(words: readonly string[]): string | undefined {
  const at = words.indexOf('-j');
  return at < 0 ? undefined : words[at + 1];
}

/** PacketFlow is a new connection to trace. */
export interface PacketFlow {
  readonly sourceIP: string;
  readonly destIP: string;
  readonly destPort: number;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
}

/**
 * TraceResult is where a new connection ends, as kube-proxy's tracer reports
 * it: the DNAT endpoints and filter verdicts (ACCEPT/DROP/REJECT) it met,
 * comma-separated (endpoints sorted), '' when no rule decided anything; and
 * whether it was marked for masquerading.
 */
export interface TraceResult {
  readonly output: string;
  readonly masq: boolean;
}

/**
 * tracePacket follows a new connection through the fake's tables the way
 * kube-proxy's test tracer does (pkg/proxy/iptables/proxier_test.go): nat
 * KUBE-SERVICES first, following every branch of a `statistic` match so the
 * output lists all endpoints the flow may reach; then, with the destination
 * DNATed, filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS and
 * KUBE-PROXY-FIREWALL. `nodeIPs` and loopback (127.0.0.1, ::1) are the
 * local addresses (addrtype LOCAL); addresses and CIDRs of either family
 * match, so one tracer serves iptables and ip6tables dumps. Rules that check state (affinity, mark, conntrack) never
 * match a new packet.
 */
export function tracePacket(ipt: FakeIptables, flow: PacketFlow, nodeIPs: readonly string[]): TraceResult {
  const local = new Set(['127.0.0.1', '::1', ...nodeIPs]);
  const env: TraceEnv = { ipt, flow, local, masq: false, dnat: [] };
  walk(env, 'nat', 'KUBE-SERVICES');
  const endpoints = [...new Set(env.dnat)].sort();
  const verdicts: string[] = [];
  const filtered: TraceEnv = { ...env, flow: { ...flow, destIP: endpoints[0] === undefined ? flow.destIP : hostOf(endpoints[0]) } };
  for (const chain of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) {
    const verdict = walk(filtered, 'filter', chain);
    if (verdict && verdict !== 'DNAT') verdicts.push(verdict);
  }
  return { output: [...endpoints, ...verdicts].join(', '), masq: env.masq || filtered.masq };
}

/** hostOf takes the address out of a DNAT destination: `ip:port`, or `[ip]:port` for IPv6. */
function hostOf(destination: string): string {
  return /^\[(.+)\]:\d+$/.exec(destination)?.[1] ?? destination.replace(/:\d+$/, '');
}

interface TraceEnv {
  readonly ipt: FakeIptables;
  readonly flow: PacketFlow;
  readonly local: ReadonlySet<string>;
  masq: boolean;
  readonly dnat: string[];
}

/** walk returns a terminal verdict (DNAT/ACCEPT/DROP/REJECT), or undefined when the chain falls through or RETURNs. */
function walk(env: TraceEnv, table: string, chain: string): string | undefined {
  for (const rule of env.ipt.rules(table, chain)) {
    const words = tokenize(rule);
    if (!matches(env, words)) continue;
    const target = targetOf(words);
    if (target === undefined) continue;
    const branch = words.includes('statistic');
    let verdict: string | undefined;
    if (target === 'RETURN') return undefined;
    if (target === 'DNAT') {
      env.dnat.push(words[words.indexOf('--to-destination') + 1]!);
      verdict = 'DNAT';
    } else if (target === 'MARK') env.masq = true;
    else if (['ACCEPT', 'DROP', 'REJECT'].includes(target)) verdict = target;
    else verdict = walk(env, table, target);
    if (verdict && !branch) return verdict;
  }
  return undefined;
}

function matches(env: TraceEnv, w: readonly string[]): boolean {
  const { flow } = env;
  const protocol = flow.protocol ?? 'tcp';
  for (let i = 0; i < w.length; i++) {
    const negated = w[i - 1] === '!';
    const value = w[i + 1] ?? '';
    let ok: boolean | undefined;
    switch (w[i]) {
      case '-p': ok = value === protocol; break;
      case '-d': ok = inCidr(value, flow.destIP); break;
      case '-s': ok = inCidr(value, flow.sourceIP); break;
      case '--dport': ok = Number(value) === flow.destPort; break;
      case '--dst-type': ok = env.local.has(flow.destIP) === (value === 'LOCAL'); break;
      case '--src-type': ok = env.local.has(flow.sourceIP) === (value === 'LOCAL'); break;
      // State a new packet of a new client does not have: affinity, marks, conntrack.
      case '--rcheck': case '--mark': case '--ctstate': return false;
      default: continue;
    }
    if (ok === negated) return false;
  }
  return true;
}

function inCidr(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  if (ip.includes(':') !== base!.includes(':')) return false;
  if (ip.includes(':')) return bits === undefined ? base === ip : ipv6Prefix(base!, Number(bits)) === ipv6Prefix(ip, Number(bits));
  const n = Number(bits ?? 32);
  const toInt = (a: string) => a.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const size = 2 ** (32 - n);
  return Math.floor(toInt(base!) / size) === Math.floor(toInt(ip) / size);
}

/** ipv6Prefix renders the first `bits` bits of an IPv6 address as a bit string. */
function ipv6Prefix(ip: string, bits: number): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g || '0', 16).toString(2).padStart(16, '0')).join('').slice(0, bits);
}
