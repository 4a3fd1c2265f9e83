import { PortalRulesError } from '../../../src/userspace/errors.ts';
import type { PortalRunner } from '../../../src/userspace/portal-runner.ts';

/**
 * FakePortalRunner is a stateful stand-in for iptables: it applies
 * `iptables-restore --noflush` text to its own nat chains as one transaction
 * (`:CHAIN` creates or flushes, `-A` appends, `-D` deletes the exact rule or
 * fails the whole restore, as iptables does), and keeps the jump rules.
 */
export class FakePortalRunner implements PortalRunner {
  chains = new Map<string, string[]>();
  jumps = new Set<string>();
  /** Restore texts received, for asserting how much each sync rewrote. */
  readonly restores: string[] = [];
  /** When set, the next restore fails without changing anything (an iptables hiccup). */
  failNext = false;

  async restore(text: string): Promise<void> {
    this.restores.push(text);
    if (this.failNext) {
      this.failNext = false;
      throw new PortalRulesError('iptables-restore exited 4: Resource temporarily unavailable');
    }
    const next = new Map([...this.chains].map(([k, v]) => [k, [...v]]));
    for (const line of text.split('\n')) {
      if (line === '' || line === '*nat' || line === 'COMMIT') continue;
      if (line.startsWith(':')) {
        next.set(line.slice(1).split(' ')[0]!, []);
        continue;
      }
      const [op, chain, ...rest] = line.split(' ');
      const rule = `${chain} ${rest.join(' ')}`;
      const rules = next.get(chain!);
      if (!rules) throw new PortalRulesError(`line: chain ${chain} does not exist`);
      if (op === '-A') rules.push(rule);
      else if (op === '-D') {
        const i = rules.indexOf(rule);
        if (i < 0) throw new PortalRulesError(`line: Bad rule (does a matching rule exist in that chain?): ${rule}`);
        rules.splice(i, 1);
      } else throw new PortalRulesError(`unexpected line ${line}`);
    }
    this.chains = next;
  }

  async ensureJumps(): Promise<void> {
    for (const chain of this.chains.keys()) this.jumps.add(chain);
  }

  async removeAll(): Promise<void> {
    this.chains.clear();
    this.jumps.clear();
  }

  /** rules lists every rule of every chain, sorted. */
  rules(): string[] {
    return [...this.chains.values()].flat().sort();
  }
}
