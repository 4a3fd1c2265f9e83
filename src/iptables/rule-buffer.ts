/**
 * TableBuffer collects one table's part of an iptables-restore input: chain
 * declarations first (each `:CHAIN - [0:0]` line creates or flushes the chain
 * under --noflush), then rules in the order they must appear in each chain.
 */
export class TableBuffer {
  readonly table: string;
  private readonly chainLines: string[] = [];
  private readonly declared = new Set<string>();
  private readonly ruleLines: string[] = [];

  constructor(table: string) {
    this.table = table;
  }

  /** declare creates (or flushes) a chain; declaring twice is a no-op. */
  declare(chain: string): void {
    if (this.declared.has(chain)) return;
    this.declared.add(chain);
    this.chainLines.push(`:${chain} - [0:0]`);
  }

  /** append adds `-A chain args...`; the chain must be declared in this restore or already exist. */
  append(chain: string, ...args: readonly string[]): void {
    this.ruleLines.push(['-A', chain, ...args].join(' '));
  }

  /** raw adds a rule line as is (`-I ...`, `-D ...`, `-X ...`). */
  raw(line: string): void {
    this.ruleLines.push(line);
  }

  get ruleCount(): number {
    return this.ruleLines.length;
  }

  /** text renders `*table`, declarations, rules and COMMIT. */
  text(): string {
    return [`*${this.table}`, ...this.chainLines, ...this.ruleLines, 'COMMIT', ''].join('\n');
  }
}

/** comment renders `-m comment --comment X`, quoting X when it holds spaces as iptables-save does. */
export function comment(text: string): string[] {
  return ['-m', 'comment', '--comment', /\s/.test(text) ? `"${text}"` : text];
}

/** protoMatch renders `-m tcp -p tcp` (kube-proxy's order). */
export function protoMatch(protocol: string): string[] {
  const p = protocol.toLowerCase();
  return ['-m', p, '-p', p];
}
