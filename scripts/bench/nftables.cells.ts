/**
 * Runs one cell of the sync table (nftables.sync.ts) in a fresh scratch
 * namespace and a process of its own, under a time limit per phase: at the
 * limit the process group is killed and the cell reads `> limit`. The
 * namespace (and every rule in it) is deleted whatever happens.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNamespace, deleteNamespace, spawnIn } from '../../src/lab/netns.ts';
import { killGroup, type Teardowns } from './lab-helpers.ts';
import type { FullSync, Outcome } from './nftables.report.ts';
import type { SyncCell } from './nftables.sync.ts';

export interface CellResult {
  readonly full: Outcome<FullSync>;
  readonly change: Outcome<number[]>;
  /** The full sync hit the time limit: larger sizes of this cell are not run. */
  readonly overLimit: boolean;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const MB_PER_MIB = 1.048576;

type Line = { phase: 'full'; ms: number; peakRssMiB: number; baseRssMiB: number } | { phase: 'change'; ms: number[] } | { phase: 'error'; error: string };

export async function runSyncCell(teardowns: Teardowns, cell: SyncCell, services: number, endpoints: number, changes: number, limitMs: number): Promise<CellResult> {
  const mark = teardowns.mark();
  const ns = `fybench-nft-${process.pid}-${cell}`;
  teardowns.add(() => deleteNamespace(ns));
  try {
    await createNamespace(ns);
    const child = spawnIn(ns, process.execPath, ['--import', 'tsx', here('nftables.sync.ts'), cell, String(services), String(endpoints), String(changes)], { detached: true });
    teardowns.add(() => killGroup(child));
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-1000)));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Line | 'timeout' | 'exit'> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), limitMs)));
      const line = lines.next().then((l) => (l.done ? 'exit' as const : JSON.parse(l.value) as Line));
      const got = await Promise.race([line, timeout]);
      clearTimeout(timer);
      return got;
    };
    const over = { ok: false as const, text: `> ${limitMs / 1000} s` };
    const failed = (got: Line | 'exit') => ({ ok: false as const, text: `failed: ${got === 'exit' ? `exited; ${stderr.trim().split('\n').pop()}` : got.phase === 'error' ? got.error : 'unexpected output'}` });
    const full = await next();
    if (full === 'timeout') return { full: over, change: { ok: false, text: 'not run' }, overLimit: true };
    if (full === 'exit' || full.phase !== 'full') return { full: failed(full), change: { ok: false, text: 'not run' }, overLimit: false };
    const fullSync = { ms: full.ms, peakRssMB: full.peakRssMiB * MB_PER_MIB, baseRssMB: full.baseRssMiB * MB_PER_MIB };
    if (cell === 'nft-floor') return { full: { ok: true, value: fullSync }, change: { ok: false, text: '' }, overLimit: false };
    const change = await next();
    const changeOutcome: Outcome<number[]> = change === 'timeout' ? over : change === 'exit' || change.phase !== 'change' ? failed(change) : { ok: true, value: change.ms };
    return { full: { ok: true, value: fullSync }, change: changeOutcome, overLimit: false };
  } finally {
    await teardowns.runFrom(mark);
  }
}
