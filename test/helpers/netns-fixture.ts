import type { ExecutionContext } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createNamespace, deleteNamespace, execIn, spawnIn } from '../../src/lab/netns.ts';
import type { ExecOptions, ExecResult } from '../../src/util/exec.ts';

/** Prefix of every namespace a test creates; `scripts/test` removes leftovers with it. */
export const TEST_NETNS_PREFIX = 'fytest-';

export const isRoot = process.getuid?.() === 0;

/**
 * NetnsFixture owns the namespaces and processes of one test and removes them
 * in t.teardown, also when the test fails. Names carry the creating process's
 * pid and a random id (`fytest-<pid>-<id>-<name>`), so parallel tests never
 * collide and `scripts/test` removes only leftovers whose creator is dead.
 */
export class NetnsFixture {
  readonly id = `${process.pid}-${randomBytes(2).toString('hex')}`;
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];

  constructor(t: ExecutionContext) {
    t.teardown(() => this.destroy());
  }

  /** ns returns the full namespace name for a short name, e.g. `fytest-4242-a1b2-node`. */
  ns(short: string): string {
    return `${TEST_NETNS_PREFIX}${this.id}-${short}`;
  }

  async add(short: string): Promise<string> {
    const name = this.ns(short);
    this.namespaces.push(name);
    await createNamespace(name);
    return name;
  }

  exec(ns: string, file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return execIn(ns, file, args, options);
  }

  /** spawn starts a process in ns that is killed (with its process group) at teardown. */
  spawn(ns: string, file: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawnIn(ns, file, args, { detached: true, env: { ...process.env, ...env } });
    this.processes.push(child);
    return child;
  }

  async destroy(): Promise<void> {
    for (const p of this.processes) {
      if (p.exitCode === null && p.pid !== undefined) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    for (const name of this.namespaces.reverse()) await deleteNamespace(name);
  }
}
