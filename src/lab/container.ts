import { spawn } from 'node:child_process';

/**
 * ContainerProcess runs one container as a process inside its pod's network
 * namespace (kubelet's container runtime, minus images): started through
 * `ip netns exec <pod-ns> unshare --uts` so it gets its own host name,
 * restarted by the pod's restartPolicy with kubelet's doubling back-off,
 * stdout and stderr kept (the last `maxLogBytes`) for `kubectl logs`, and
 * stopped with SIGTERM, a grace period, then SIGKILL to its process group.
 */

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | { kind: 'terminated'; exitCode: number; signal?: string; reason: string; startedAt: Date; finishedAt: Date };

export interface ContainerOptions {
  name: string;
  /** Pod network namespace to run in. */
  netns: string;
  hostname: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  workingDir?: string;
  restartPolicy: RestartPolicy;
  /** Restart back-off: first delay and cap (kubelet: 10 s, 5 min). */
  backoff: { initialMs: number; maxMs: number };
  maxLogBytes?: number;
  /** Called after every state change. */
  onChange: () => void;
}

export class ContainerProcess {
  readonly name: string;
  restartCount = 0;
  state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  lastState: ContainerState | undefined;
  /** pid of the running process (its process group id too). */
  pid: number | undefined;
  private readonly options: ContainerOptions;
  private readonly logChunks: string[] = [];
  private logBytes = 0;
  /** Bumped whenever new output arrives; the agent reports logs when it moves. */
  logVersion = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(options: ContainerOptions) {
    this.options = options;
    this.name = options.name;
    this.delayMs = options.backoff.initialMs;
  }

  start(): void {
    if (this.stopping) return;
    const o = this.options;
    const script = 'hostname "$0" && exec "$@"';
    const child = spawn('ip', ['netns', 'exec', o.netns, 'unshare', '--uts', '--', 'sh', '-c', script, o.hostname, ...o.argv], {
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: o.hostname, ...o.env },
      cwd: o.workingDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = child.pid;
    const startedAt = new Date();
    this.state = { kind: 'running', startedAt };
    child.stdout!.on('data', (b: Buffer) => this.appendLog(b));
    child.stderr!.on('data', (b: Buffer) => this.appendLog(b));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.appendLog(Buffer.from(`ferry node: cannot start ${o.argv[0]}: ${error.message}\n`));
      });
      child.on('close', (code, signal) => {
        this.onExit(startedAt, code, signal);
        resolve();
      });
    });
    o.onChange();
  }

  private onExit(startedAt: Date, code: number | null, signal: NodeJS.Signals | null): void {
    this.pid = undefined;
    const exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
    const finishedAt = new Date();
    const terminated: ContainerState = { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt, ...(signal ? { signal } : {}) };
    const o = this.options;
    const restart = !this.stopping && (o.restartPolicy === 'Always' || (o.restartPolicy === 'OnFailure' && exitCode !== 0));
    if (!restart) {
      this.state = terminated;
      o.onChange();
      return;
    }
    this.lastState = terminated;
    // A container that ran longer than the cap is healthy again: start the back-off over.
    if (finishedAt.getTime() - startedAt.getTime() > o.backoff.maxMs) this.delayMs = o.backoff.initialMs;
    const delay = this.delayMs;
    this.delayMs = Math.min(o.backoff.maxMs, this.delayMs * 2);
    this.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.name}` };
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restartCount++;
      this.start();
    }, delay);
    o.onChange();
  }

  /** kill ends the current process so the restart policy applies (a failed liveness probe). */
  kill(): void {
    if (this.pid !== undefined) signalGroup(this.pid, 'SIGKILL');
  }

  /** fail marks the container as not startable (bad image, bad env): waiting with kubelet's reason. */
  fail(reason: string, message: string): void {
    this.state = { kind: 'waiting', reason, message };
    this.options.onChange();
  }

  /** stop: SIGTERM to the process group, SIGKILL after the grace period; resolves once it exited. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const pid = this.pid;
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private appendLog(b: Buffer): void {
    const text = b.toString('utf8');
    this.logChunks.push(text);
    this.logBytes += text.length;
    const max = this.options.maxLogBytes ?? 1024 * 1024;
    while (this.logBytes > max && this.logChunks.length > 1) this.logBytes -= this.logChunks.shift()!.length;
    this.logVersion++;
  }

  /** logs returns what the container wrote, stdout and stderr interleaved as they arrived. */
  logs(): string {
    return this.logChunks.join('');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
function signalNumber(signal: NodeJS.Signals): number {
  return SIGNALS[signal] ?? 1;
}
