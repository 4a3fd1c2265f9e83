import { execFile, ExecError } from '../util/exec.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import { IptablesBackendError, IptablesRestoreError } from './errors.ts';

export type IptablesBackend = 'nft' | 'legacy';

const KUBELET_CHAINS = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m;
const ANY_KUBE_CHAIN = /^:KUBE-/m;

/** BackendEvidence is what the node's two backends hold, and what `iptables -V` says. */
export interface BackendEvidence {
  /** `iptables-nft-save -t mangle`. */
  readonly nftMangle: string;
  /** `iptables-legacy-save` (every table: naming one would make the kernel create it). */
  readonly legacyAll: string;
  /** `iptables-nft-save`, every table. */
  readonly nftAll: string;
  /** The backend `iptables` points to, when `iptables -V` could tell. */
  readonly alternative: IptablesBackend | undefined;
}

/**
 * chooseBackend picks the backend as kube-proxy's image does (iptables-wrapper):
 * the one where kubelet made its chains (KUBE-IPTABLES-HINT or
 * KUBE-KUBELET-CANARY; nft first), else the one already holding KUBE- chains
 * (an earlier proxy's), else what `iptables` points to, else nft.
 */
export function chooseBackend(e: BackendEvidence): IptablesBackend {
  if (KUBELET_CHAINS.test(e.nftMangle)) return 'nft';
  if (KUBELET_CHAINS.test(e.legacyAll)) return 'legacy';
  const inLegacy = ANY_KUBE_CHAIN.test(e.legacyAll);
  const inNft = ANY_KUBE_CHAIN.test(e.nftAll);
  if (inLegacy !== inNft) return inLegacy ? 'legacy' : 'nft';
  return e.alternative ?? 'nft';
}

/** detectBackend gathers the evidence on this node (a command that fails counts as empty) and chooses. */
export async function detectBackend(): Promise<IptablesBackend> {
  const run = async (file: string, args: string[]) => (await execFile(file, args, { allowFailure: true, timeoutMs: 30_000 }).catch(() => undefined))?.stdout ?? '';
  const [nftMangle, legacyAll, nftAll, version] = await Promise.all([
    run('iptables-nft-save', ['-t', 'mangle']),
    run('iptables-legacy-save', []),
    run('iptables-nft-save', []),
    run('iptables', ['-V']),
  ]);
  const alternative = version.includes('(nf_tables)') ? 'nft' : version.includes('(legacy)') ? 'legacy' : undefined;
  if (!alternative && !nftAll && !legacyAll) throw new IptablesBackendError('cannot run iptables: neither backend answered');
  return chooseBackend({ nftMangle, legacyAll, nftAll, alternative });
}

/**
 * IptablesRunner runs the iptables binaries of one backend. It is the only
 * place Ferry execs iptables, so tests of the proxier can use a stateful
 * fake that parses the same restore text.
 */
export interface IptablesRunner {
  readonly backend: IptablesBackend;
  /** The family of the tables it runs on (iptables or ip6tables); undefined: 4. */
  readonly ipFamily?: IPFamily;
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

/** createRunner runs one backend's binaries for one family: iptables-* for 4, ip6tables-* for 6. */
export function createRunner(backend: IptablesBackend, ipFamily: IPFamily = 4): IptablesRunner {
  const tool = ipFamily === 6 ? 'ip6tables' : 'iptables';
  // Debian names them iptables-nft-restore, ip6tables-legacy-save, ...
  const bin = (suffix: '' | '-save' | '-restore') => `${tool}-${backend}${suffix}`;
  return {
    backend,
    ipFamily,
    async restore(text) {
      try {
        await execFile(bin('-restore'), [...LOCK_ARGS, '--noflush', '--counters'], { input: text, timeoutMs: RESTORE_TIMEOUT_MS });
      } catch (e) {
        const stderr = e instanceof ExecError ? e.stderr : '';
        const line = failedLine(stderr);
        const lineText = line === undefined ? undefined : text.split('\n')[line - 1];
        throw new IptablesRestoreError(`${tool}-restore failed: ${stderr.trim() || String(e)}`, line, lineText, e);
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

/** familyWorks tells whether a family's nat table can be read with this backend (kube-proxy's iptables Present()). */
export async function familyWorks(backend: IptablesBackend, family: IPFamily): Promise<boolean> {
  return createRunner(backend, family).save('nat').then(() => true, () => false);
}

/**
 * familiesOnce answers which families' tables a backend's tools read: IPv4,
 * and IPv6 where ip6tables works, probed once per backend however often it
 * is asked (a cleanup asks for each iptables-based mode).
 */
export function familiesOnce(): (backend: IptablesBackend) => Promise<IPFamily[]> {
  const found = new Map<IptablesBackend, Promise<IPFamily[]>>();
  return (backend) => {
    let families = found.get(backend);
    if (!families) found.set(backend, (families = familyWorks(backend, 6).then((works): IPFamily[] => (works ? [4, 6] : [4]))));
    return families;
  };
}
