import { libc, resetOnClose } from './libc.ts';

/** Descriptor numbers a ledger tracks, one byte each (higher ones go untracked). */
export const LEDGER_SIZE = 1 << 20;

let owned: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

/**
 * The descriptor ledger of an engine thread: the descriptors it owns are
 * marked in memory shared with the main thread. Descriptors belong to the
 * process, so when a thread dies (terminated, out of memory) nobody would
 * close its sockets and pipes; the main thread closes what the ledger still
 * marks (closeLeftBehind), and the dead thread's clients and backends see
 * their connections end instead of hanging. Every descriptor a thread makes
 * goes through own(), and every close through closeFd().
 */
export function useLedger(shared: SharedArrayBuffer): void {
  owned = new Uint8Array(shared);
}

/** own marks fd as this thread's and returns it (negative results of failed calls pass through). */
export function own(fd: number): number {
  if (fd >= 0 && fd < owned.length) owned[fd] = 1;
  return fd;
}

export function closeFd(fd: number): void {
  if (fd >= 0 && fd < owned.length) owned[fd] = 0;
  libc().close(fd);
}

/**
 * closeLeftBehind closes every descriptor a dead thread's ledger still
 * marks, sockets with a reset (their connections broke; a FIN would pass
 * for a clean end); returns how many.
 */
export function closeLeftBehind(shared: SharedArrayBuffer): number {
  const marks = new Uint8Array(shared);
  let closed = 0;
  for (let fd = marks.indexOf(1); fd >= 0; fd = marks.indexOf(1, fd + 1)) {
    marks[fd] = 0;
    resetOnClose(fd); // ENOTSOCK for pipes and the epoll descriptor: harmless
    libc().close(fd);
    closed++;
  }
  return closed;
}
