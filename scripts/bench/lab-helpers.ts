/**
 * What the lab benchmarks (datapath, nftables) share: a list of cleanups run
 * at the end, on failure and on SIGTERM/SIGINT (`ferry bench` sends SIGTERM
 * at its time limit), handed to test helpers such as ProxyTopology as an
 * ava-like context; and LineProcess, a child in a namespace spoken to in JSON
 * lines.
 */
import type { ExecutionContext } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { spawnIn } from '../../src/lab/netns.ts';
import { execFile } from '../../src/util/exec.ts';

/** Teardowns runs registered cleanups in reverse order, each once, whatever the others do. */
export class Teardowns {
  private readonly fns: Array<() => unknown> = [];

  /** context is what ProxyTopology and NetnsFixture expect from ava: they register their cleanup with it. */
  readonly context = { teardown: (fn: () => unknown) => this.add(fn), log: () => {} } as unknown as ExecutionContext;

  add(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** mark and runFrom(mark) clean up only what was registered after the mark (one mode's lab). */
  mark(): number {
    return this.fns.length;
  }

  async runFrom(mark = 0): Promise<void> {
    for (const fn of this.fns.splice(mark).reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup: ${(err as Error).message}\n`);
      }
    }
  }

  /** onSignals cleans up and exits on SIGTERM/SIGINT. */
  onSignals(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => void this.runFrom().finally(() => process.exit(1)));
    }
  }
}

/** killGroup kills a detached child and everything it started (its process group). */
export function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export async function hasProgram(name: string): Promise<boolean> {
  return (await execFile('sh', ['-c', `command -v ${name}`], { allowFailure: true })).code === 0;
}

/** LineProcess is a child in a namespace that answers one JSON line per JSON line it is sent. */
export class LineProcess {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  private stderr = '';

  /** script is a TypeScript file run with tsx; the child is killed with its group at teardown. */
  constructor(teardowns: Teardowns, ns: string, script: string, args: readonly string[]) {
    this.child = spawnIn(ns, process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-2000)));
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    teardowns.add(() => killGroup(this.child));
  }

  ask<T>(cmd: object, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(cmd)} within ${timeoutMs / 1000} s; stderr: ${this.stderr}`)), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as T);
      });
      this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  /** close ends stdin (the child cleans up then) and waits up to 20 s before killing. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    killGroup(this.child);
  }
}
