import { readFileSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataDirLockedError } from './errors.ts';

// Data dirs held by stores of this process (a pid file cannot tell two of ours apart).
const heldHere = new Set<string>();

/**
 * lockDataDir claims `dir` for one store: a `LOCK` file holding the owner's
 * pid. A lock left by a dead process (kill -9) is taken over; one held by a
 * live process, or by another open store in this process, is
 * DataDirLockedError. Two writers on one log would interleave records.
 */
export async function lockDataDir(dir: string): Promise<void> {
  const path = resolve(dir);
  if (heldHere.has(path)) throw new DataDirLockedError(dir, process.pid);
  heldHere.add(path);
  try {
    const owner = Number.parseInt(await readFile(join(path, 'LOCK'), 'utf8').catch(() => ''), 10);
    if (owner > 0 && owner !== process.pid && isAlive(owner)) throw new DataDirLockedError(dir, owner);
    await writeFile(join(path, 'LOCK'), `${process.pid}\n`);
  } catch (error) {
    heldHere.delete(path);
    throw error;
  }
}

/** unlockDataDir releases a lock taken by lockDataDir. */
export async function unlockDataDir(dir: string): Promise<void> {
  const path = resolve(dir);
  if (!heldHere.delete(path)) return;
  await unlink(join(path, 'LOCK')).catch(() => {});
}

/**
 * isAlive: the process exists and has not exited. A zombie (exited, not yet
 * reaped by its parent) still answers kill(pid, 0), but holds no files and
 * writes nothing: its lock is as stale as a dead process's.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no procfs: trust kill(pid, 0)
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}
