import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, truncateSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentRecord } from './state.ts';

/**
 * Starting and stopping the lab's background processes. Each runs detached
 * in its own process group (so `ferry up` can exit and a signal reaches the
 * whole group), with stdout and stderr appended to its log file.
 */

export interface ComponentSpec {
  name: string;
  argv: string[];
  netns?: string;
  log: string;
}

export function startComponent(spec: ComponentSpec): ComponentRecord {
  mkdirSync(dirname(spec.log), { recursive: true });
  const fd = openSync(spec.log, 'a');
  try {
    // `ip netns exec` execs the program, so the pid we record is the component's own.
    const [file, ...args] = spec.netns ? ['ip', 'netns', 'exec', spec.netns, ...spec.argv] : spec.argv;
    const child = spawn(file!, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${spec.name}: ${spec.argv[0]}`);
    return { ...spec, pid: child.pid };
  } finally {
    closeSync(fd);
  }
}

/** startFresh starts a component of a new lab run, its log emptied first (a restart appends instead). */
export function startFresh(spec: ComponentSpec): ComponentRecord {
  if (existsSync(spec.log)) truncateSync(spec.log);
  return startComponent(spec);
}

/** restartProcess stops a component and starts it again with the same command, appending to its log. */
export async function restartProcess(old: ComponentRecord): Promise<ComponentRecord> {
  await stopComponents([old]);
  return startComponent({ name: old.name, argv: old.argv, log: old.log, ...(old.netns ? { netns: old.netns } : {}) });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // Already gone (or the group is): nothing to signal.
    }
  }
}

/**
 * stopComponents sends SIGTERM to each process group, waits up to `graceMs`
 * for them to exit, then SIGKILLs what is left. Pids that are gone are skipped,
 * so it is safe to run twice or after a `kill -9`. Returns how many were running.
 */
export async function stopComponents(records: readonly ComponentRecord[], graceMs = 3000): Promise<number> {
  const live = records.filter((r) => isAlive(r.pid));
  for (const r of live) signalGroup(r.pid, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end && live.some((r) => isAlive(r.pid))) await sleep(50);
  for (const r of live) signalGroup(r.pid, 'SIGKILL');
  // A SIGKILLed group still needs a moment to be reaped by init.
  for (let i = 0; i < 40 && live.some((r) => isAlive(r.pid)); i++) await sleep(25);
  return live.length;
}
