import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { ContainerLog } from './container-log.ts';
import type { BindMount } from './pod-volumes.ts';
import { mountScript, shellQuote } from './mount-script.ts';

/**
 * ContainerProcess runs one container as a process inside its pod's network
 * namespace (kubelet's container runtime, minus images): started through
 * `ip netns exec <pod-ns> unshare --uts` so it gets its own host name,
 * restarted by the pod's restartPolicy with kubelet's doubling back-off,
 * stdout and stderr kept (the last `maxLogBytes`, this instance's and the
 * previous one's) for `kubectl logs`, its stdin open for `kubectl attach`
 * when the spec asks (`stdin: true`, a pseudo-terminal from `script` with
 * `tty: true`), and stopped with SIGTERM, a grace period, then SIGKILL to its
 * process group. Its volumes are bind-mounted in the mount namespace `ip
 * netns exec` gives it (a slave of the host's: the mounts stay inside).
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
  /** Volumes to bind-mount before the program starts (pod-volumes.ts, mount-script.ts). */
  mounts?: readonly BindMount[];
  /** A directory of this container's own for what mounting needs (overlays for missing mount points). */
  scratchDir?: string;
  restartPolicy: RestartPolicy;
  /**
   * Restart back-off: first delay and cap (kubelet: 10 s, 5 min); after
   * resetMs of running (kubelet: 10 min) it starts over. As kubelet, the
   * first restart is immediate and the delays apply from the second crash.
   */
  backoff: { initialMs: number; maxMs: number; resetMs?: number };
  /** Keep stdin open (the container spec's `stdin`), on a terminal (`tty`). */
  stdin?: boolean;
  tty?: boolean;
  maxLogBytes?: number;
  /** Called after every state change. */
  onChange: () => void;
  /** The preStop hook, run before SIGTERM within the grace period; rejects when it failed. */
  preStop?: () => Promise<void>;
  /** Told what kubelet would record as an event: Created, Started, BackOff, Killing. */
  onEvent?: (type: 'Normal' | 'Warning', reason: string, message: string) => void;
}

export class ContainerProcess {
  readonly name: string;
  restartCount = 0;
  state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  lastState: ContainerState | undefined;
  /** pid of the running process (its process group id too). */
  pid: number | undefined;
  private readonly options: ContainerOptions;
  /** This instance's output, and the previous instance's (`kubectl logs --previous`). */
  log: ContainerLog;
  previousLog: ContainerLog | undefined;
  /** The running instance's stdin, when the spec keeps it open. */
  stdin: Writable | undefined;
  /** Bumped whenever new output arrives; the agent reports logs when it moves. */
  logVersion = 0;
  /** Delay before the next restart; 0 until the first crash (kubelet restarts that one at once). */
  private delayMs = 0;
  private instances = 0;
  /** The file the running instance's wrapper makes once its mounts are made. */
  mountedMarker: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(options: ContainerOptions) {
    this.options = options;
    this.name = options.name;
    this.log = new ContainerLog(options.maxLogBytes ?? 1024 * 1024);
  }

  start(): void {
    if (this.stopping) return;
    const o = this.options;
    if (this.instances++ > 0) {
      this.previousLog = this.log;
      this.log = new ContainerLog(o.maxLogBytes ?? 1024 * 1024);
    }
    // Each instance mounts afresh in its own mount namespace, with scratch space of its own.
    const scratch = `${o.scratchDir ?? '/run/ferry-lab/scratch'}/${this.instances}`;
    const mounts = mountScript(o.mounts ?? [], scratch, o.netns);
    // The marker says the mounts are made and the command is starting: exec waits for it (execWhenMounted).
    this.mountedMarker = `${scratch}/mounted`;
    const script = ['hostname "$0"', `mkdir -p ${shellQuote(scratch)}`, ...mounts, `: > ${shellQuote(this.mountedMarker)}`, 'exec "$@"'].join(' && ');
    const run = withContainerPath(o.env, o.argv);
    const argv = o.tty ? ttyArgv(run.argv) : run.argv;
    const child = spawn('ip', ['netns', 'exec', o.netns, 'unshare', '--uts', '--', 'sh', '-c', script, o.hostname, ...argv], {
      detached: true,
      env: { HOSTNAME: o.hostname, ...(o.tty ? { TERM: 'xterm' } : {}), ...run.env },
      cwd: o.workingDir,
      stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.pid = child.pid;
    o.onEvent?.('Normal', 'Created', `Created container ${o.name}`);
    if (child.pid !== undefined) o.onEvent?.('Normal', 'Started', `Started container ${o.name}`);
    this.stdin = child.stdin ?? undefined;
    this.stdin?.on('error', () => undefined);
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
    this.stdin = undefined;
    this.log.end();
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
    // A container that ran long enough is healthy again: start the back-off over.
    if (finishedAt.getTime() - startedAt.getTime() >= (o.backoff.resetMs ?? 2 * o.backoff.maxMs)) this.delayMs = 0;
    const delay = this.delayMs;
    this.delayMs = delay === 0 ? o.backoff.initialMs : Math.min(o.backoff.maxMs, delay * 2);
    this.state = delay === 0
      ? terminated
      : { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${formatDelay(delay)} restarting failed container=${this.name}` };
    if (delay > 0) o.onEvent?.('Warning', 'BackOff', `Back-off restarting failed container ${o.name}`);
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
    this.options.onEvent?.('Normal', 'Killing', `Stopping container ${this.name}`);
    const deadline = Date.now() + graceMs;
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    if (this.options.preStop) {
      // kubelet: the hook runs first, then SIGTERM; both share the grace period.
      let hookTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.options.preStop().catch((error: unknown) => this.options.onEvent?.('Warning', 'FailedPreStopHook', `PreStopHook failed: ${error instanceof Error ? error.message : String(error)}`)),
        new Promise<void>((resolve) => (hookTimer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
        this.exited,
      ]);
      clearTimeout(hookTimer);
    }
    signalGroup(pid, 'SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  private appendLog(b: Buffer): void {
    this.log.append(b.toString('utf8'));
    this.logVersion++;
  }

  /** logs returns what the current instance wrote, stdout and stderr interleaved as they arrived. */
  logs(): string {
    return this.log.text();
  }
}

/** formatDelay spells a back-off as kubelet's message does (10s, 1m20s, 5m0s). */
export function formatDelay(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** ttyArgv runs argv on a pseudo-terminal (util-linux `script`), passing its exit code on. */
/**
 * withContainerPath keeps this host's PATH for the programs that set a
 * container up (ip, unshare, sh, nsenter, script: an image's PATH may put
 * other programs of those names first, as busybox's applets) and hands the
 * container's own PATH to its command through `env`.
 */
export function withContainerPath(env: Readonly<Record<string, string>>, argv: readonly string[]): { env: Record<string, string>; argv: string[] } {
  const { PATH: containerPath, ...rest } = env;
  const host = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...rest };
  return containerPath === undefined ? { env: host, argv: [...argv] } : { env: host, argv: ['env', `PATH=${containerPath}`, ...argv] };
}

/** How long an exec waits for the container's mounts before it runs anyway (the marker of a wrapper that died never comes). */
const MOUNT_WAIT_TICKS = 500;

/**
 * execWhenMounted runs argv (an exec into the container) once the
 * container's wrapper has made its mounts, as kubelet only reports a
 * container running, and runs execs in it, after the runtime made them. The
 * wait is in the child, so its stdin is already connected and nothing
 * written to it is lost.
 */
export function execWhenMounted(marker: string | undefined, argv: readonly string[]): string[] {
  if (marker === undefined) return [...argv];
  const wait = `i=0; while [ ! -e ${shellQuote(marker)} ] && [ $i -lt ${MOUNT_WAIT_TICKS} ]; do sleep 0.01; i=$((i+1)); done; exec "$@"`;
  return ['sh', '-c', wait, 'sh', ...argv];
}

export function ttyArgv(argv: readonly string[]): string[] {
  return ['script', '-qfec', argv.map(shellQuote).join(' '), '/dev/null'];
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
