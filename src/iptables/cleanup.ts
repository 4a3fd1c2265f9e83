import { isServiceChain } from './chain-names.ts';
import { isFixedChain } from './fixed-chains.ts';
import type { IptablesRunner } from './runner.ts';
import { TableBuffer } from './rule-buffer.ts';

const TABLES = ['filter', 'nat', 'mangle'] as const;

const isOurs = (chain: string) => isFixedChain(chain) || isServiceChain(chain);

/**
 * renderCleanup builds the restore input that removes, from one table's
 * iptables-save dump, every jump into our chains and then our chains
 * themselves; others' chains and rules are left alone. Undefined: nothing to do.
 */
export function renderCleanup(table: string, dump: string): string | undefined {
  const buf = new TableBuffer(table);
  const chains = dump.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
  const ours = chains.filter(isOurs);
  if (ours.length === 0) return undefined;
  for (const line of dump.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const [, chain] = line.split(' ');
    const target = / -j (\S+)$/.exec(line)?.[1] ?? / -j (\S+) /.exec(line)?.[1];
    // Rules inside our chains vanish with the chains; only jumps from elsewhere need deleting.
    if (chain && !isOurs(chain) && target && isOurs(target)) buf.raw(`-D${line.slice(2)}`);
  }
  for (const c of ours) buf.declare(c);
  for (const c of ours) buf.raw(`-X ${c}`);
  return buf.text();
}

/** cleanupRules removes every chain and rule this proxier creates, in each table; safe on a clean node. */
export async function cleanupRules(runner: IptablesRunner): Promise<void> {
  for (const table of TABLES) {
    const text = renderCleanup(table, await runner.save(table));
    if (text) await runner.restore(text);
  }
}
