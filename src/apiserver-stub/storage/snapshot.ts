import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValue } from './backend.ts';
import { CorruptStoreError } from './errors.ts';

/**
 * Data directory layout of the file store:
 *   snapshot-<R>.json  every value at revision R: a header line
 *                      `{"revision":R,"count":N}` then N lines `[key, revision, value]`
 *   wal-<R>.log        the writes after revision R, until the next wal file
 * A snapshot is always taken where a new wal starts, so start-up loads the
 * newest snapshot S and replays every wal whose R >= S, in order. Files are
 * named with zero-padded revisions so names sort in revision order.
 */
const WIDTH = 16;

export const snapshotName = (revision: number) => `snapshot-${String(revision).padStart(WIDTH, '0')}.json`;
export const walName = (revision: number) => `wal-${String(revision).padStart(WIDTH, '0')}.log`;

export interface DataFiles {
  /** Revisions of complete snapshots, ascending. */
  readonly snapshots: number[];
  /** Start revisions of wal files, ascending. */
  readonly wals: number[];
  /** Leftover temporary files from an interrupted snapshot. */
  readonly temporary: string[];
}

/** scanDataDir lists the store's files in `dir`. */
export async function scanDataDir(dir: string): Promise<DataFiles> {
  const snapshots: number[] = [];
  const wals: number[] = [];
  const temporary: string[] = [];
  for (const name of await readdir(dir)) {
    const m = /^(snapshot|wal)-(\d+)\.(json|log)(\.tmp)?$/.exec(name);
    if (!m) continue;
    if (m[4]) temporary.push(name);
    else (m[1] === 'snapshot' ? snapshots : wals).push(Number(m[2]));
  }
  const ascending = (a: number, b: number) => a - b;
  return { snapshots: snapshots.sort(ascending), wals: wals.sort(ascending), temporary };
}

/**
 * writeSnapshot writes `items` (taken at `revision`) durably: a temporary
 * file, fdatasync, rename, then an fsync of the directory so the rename itself
 * survives a crash.
 */
export async function writeSnapshot(dir: string, revision: number, items: readonly KeyValue[]): Promise<void> {
  const final = join(dir, snapshotName(revision));
  const tmp = `${final}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.appendFile(JSON.stringify({ revision, count: items.length }) + '\n');
    // Chunks keep peak string size bounded for large stores.
    for (let i = 0; i < items.length; i += 1000) {
      let chunk = '';
      for (const item of items.slice(i, i + 1000)) chunk += JSON.stringify([item.key, item.revision, item.value]) + '\n';
      await handle.appendFile(chunk);
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, final);
  await syncDir(dir);
}

/** readSnapshot loads a snapshot; any damage is CorruptStoreError (snapshots are renamed into place whole). */
export async function readSnapshot(dir: string, revision: number): Promise<KeyValue[]> {
  const file = join(dir, snapshotName(revision));
  const lines = (await readFile(file, 'utf8')).split('\n');
  try {
    const header = JSON.parse(lines[0]!) as { revision: number; count: number };
    if (header.revision !== revision || lines.length !== header.count + 2 || lines.at(-1) !== '') {
      throw new Error(`header says revision ${header.revision} with ${header.count} items, file has ${lines.length - 2}`);
    }
    return lines.slice(1, -1).map((line) => {
      const [key, rev, value] = JSON.parse(line) as [string, number, KeyValue['value']];
      return { key, revision: rev, value };
    });
  } catch (error) {
    throw new CorruptStoreError(file, error instanceof Error ? error.message : String(error));
  }
}

/** removeFiles unlinks names in `dir`, ignoring ones already gone. */
export async function removeFiles(dir: string, names: readonly string[]): Promise<void> {
  for (const name of names) await unlink(join(dir, name)).catch(() => {});
}

/** syncDir fsyncs a directory so created, renamed and removed entries are durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
