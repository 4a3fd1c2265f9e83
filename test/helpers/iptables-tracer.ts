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
  readonly protocol?: 'tcp' | 'udp';
}

/** TraceResult is where a new connection ends: DNAT endpoints (comma-separated, sorted), or ACCEPT/DROP/REJECT. */
export interface TraceResult {
  readonly output: string;
  readonly masq: boolean;
}

/**
 * tracePacket follows a new connection through the fake's nat and filter
 * tables as kube-proxy's test tracer does: every branch of a `statistic`
 * match is followed, so the output lists all endpoints the flow may reach.
 * `nodeIPs` are the node's local addresses (addrtype LOCAL).
 */
export function tracePacket(ipt: FakeIptables, flow: PacketFlow, nodeIPs: readonly string[]): TraceResult {
  const env = { ipt, flow, nodeIPs, masq: false, dnat: new Set<string>() };
  walk(env, 'nat', 'KUBE-SERVICES');
  if (env.dnat.size > 0) return { output: [...env.dnat].sort().join(', '), masq: env.masq };
  for (const chain of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS']) {
    const verdict = walk(env, 'filter', chain);
    if (verdict) return { output: verdict, masq: env.masq };
  }
  return { output: 'ACCEPT', masq: env.masq };
}

interface TraceEnv {
  readonly ipt: FakeIptables;
  readonly flow: PacketFlow;
  readonly nodeIPs: readonly string[];
  masq: boolean;
  readonly dnat: Set<string>;
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
      env.dnat.add(words[words.indexOf('--to-destination') + 1]!);
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
      case '--dst-type': ok = env.nodeIPs.includes(flow.destIP); break;
      case '--src-type': ok = env.nodeIPs.includes(flow.sourceIP); break;
      case '--rcheck': ok = false; break; // no affinity state in a trace of a new client
      case '--mark': ok = env.masq; break;
      default: continue;
    }
    if (ok === negated) return false;
  }
  return true;
}

function inCidr(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = Number(bits ?? 32);
  const toInt = (a: string) => a.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const size = 2 ** (32 - n);
  return Math.floor(toInt(base!) / size) === Math.floor(toInt(ip) / size);
}
