import { execFile, ExecError } from '../util/exec.ts';
import { IptablesBackendError, IptablesRestoreError } from './errors.ts';

export type IptablesBackend = 'nft' | 'legacy';

/**
 * detectBackend reads which backend `iptables` points to, as `iptables -V`
 * prints it: `iptables v1.8.9 (nf_tables)` or `iptables v1.8.9 (legacy)`.
 */
export async function detectBackend(): Promise<IptablesBackend> {
  const { stdout } = await execFile('iptables', ['-V']).catch((e: unknown) => {
    throw new IptablesBackendError('cannot run iptables -V', e);
  });
  if (stdout.includes('(nf_tables)')) return 'nft';
  if (stdout.includes('(legacy)')) return 'legacy';
  throw new IptablesBackendError(`cannot tell the iptables backend from: ${stdout.trim()}`);
}

/**
 * IptablesRunner runs the iptables binaries of one backend. It is the only
 * place Ferry execs iptables, so tests of the proxier can use a stateful
 * fake that parses the same restore text.
 */
export interface IptablesRunner {
  readonly backend: IptablesBackend;
  /** restore feeds text to `iptables-restore --noflush`; rejects with IptablesRestoreError. */
  restore(text: string): Promise<void>;
  /** save returns `iptables-save -t <table>` output. */
  save(table: string): Promise<string>;
  /** chainExists tells whether a chain exists in a table. */
  chainExists(table: string, chain: string): Promise<boolean>;
}

// -w waits up to 5 s for the xtables lock (legacy) instead of failing when
// another writer holds it; iptables-nft accepts and ignores it. (-W is
// deprecated in iptables 1.8.9 and only prints a warning.)
const LOCK_ARGS = ['-w', '5'];

/** failedLine extracts the failing line number from iptables-restore's stderr. */
export function failedLine(stderr: string): number | undefined {
  const m = /line (\d+) failed/.exec(stderr) ?? /line:? (\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

// Generous: iptables-nft-restore --noflush takes about a minute for 1k services
// x 10 endpoints on a loaded 2-core machine; a hung binary must still not block syncs forever.
const RESTORE_TIMEOUT_MS = 300_000;

export function createRunner(backend: IptablesBackend): IptablesRunner {
  // Debian names them iptables-nft-restore, iptables-legacy-save, ...
  const bin = (tool: '' | '-save' | '-restore') => `iptables-${backend}${tool}`;
  return {
    backend,
    async restore(text) {
      try {
        await execFile(bin('-restore'), [...LOCK_ARGS, '--noflush', '--counters'], { input: text, timeoutMs: RESTORE_TIMEOUT_MS });
      } catch (e) {
        const stderr = e instanceof ExecError ? e.stderr : '';
        const line = failedLine(stderr);
        const lineText = line === undefined ? undefined : text.split('\n')[line - 1];
        throw new IptablesRestoreError(`iptables-restore failed: ${stderr.trim() || String(e)}`, line, lineText, e);
      }
    },
    async save(table) {
      const { stdout } = await execFile(bin('-save'), ['-t', table], { timeoutMs: 60_000 });
      return stdout;
    },
    async chainExists(table, chain) {
      const r = await execFile(bin(''), ['-w', '5', '-t', table, '-S', chain, '1'], { allowFailure: true, timeoutMs: 10_000 });
      return r.code === 0;
    },
  };
}

/** chainsInSave lists the chains an iptables-save dump of one table declares. */
export function chainsInSave(dump: string): string[] {
  return dump
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]!);
}
