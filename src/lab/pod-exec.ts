import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from '../util/exec.ts';
import { createLogger } from '../util/log.ts';
import { execWhenMounted, ttyArgv, withContainerPath } from './container.ts';
import type { ContainerRun, PodWorker } from './pod-worker.ts';
import type { SpdySession, SpdyStream } from './spdy.ts';
import type { WebSocketConn } from './websocket.ts';

const log = createLogger('node');

/**
 * Exec and attach over either protocol kubectl speaks. `Channels` is what
 * both need: output to the client, input from it, and the final Status.
 * WebSocket (v5/v4.channel.k8s.io): one binary message per write, its first
 * byte the channel (0 stdin, 1 stdout, 2 stderr, 3 the Status as JSON, 4
 * terminal size), and in v5 a message on channel 255 whose next byte names
 * a channel the client closed. SPDY (v4.channel.k8s.io): one stream per
 * channel, named by its `streamtype` header; the Status is written to the
 * `error` stream, then every stream is closed.
 */

export interface Channels {
  stdout(b: Buffer): void;
  stderr(b: Buffer): void;
  onStdin(cb: (b: Buffer) => void, onEnd: () => void): void;
  /** onResize hears the client's terminal size (WebSocket channel 4, SPDY stream `resize`: JSON {Width, Height}). */
  onResize(cb: (size: TerminalSize) => void): void;
  /** finish sends the Status and closes the connection. */
  finish(status: object): void;
  onClose(cb: () => void): void;
}

export interface StreamRequest {
  worker: PodWorker;
  run: ContainerRun;
  query: URLSearchParams;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** parseSizes reads the JSON terminal sizes in a chunk (one object per message, or per line on SPDY). */
function parseSizes(b: Buffer): TerminalSize[] {
  return b.toString().split('\n').filter((l) => l.trim() !== '').flatMap((l) => {
    try {
      const v = JSON.parse(l) as { Width?: unknown; Height?: unknown };
      return typeof v.Width === 'number' && typeof v.Height === 'number' ? [{ width: v.Width, height: v.Height }] : [];
    } catch {
      return [];
    }
  });
}

export const flag = (q: URLSearchParams, name: string) => q.get(name) === 'true' || q.get(name) === '1';

const WS = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function webSocketChannels(ws: WebSocketConn): Channels {
  const send = (channel: number, b: Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), b]));
  return {
    stdout: (b) => send(WS.stdout, b),
    stderr: (b) => send(WS.stderr, b),
    onStdin: (cb, onEnd) => ws.on('message', (m) => {
      if (m[0] === WS.stdin) cb(m.subarray(1));
      else if (m[0] === WS.close && m[1] === WS.stdin) onEnd();
    }),
    onResize: (cb) => ws.on('message', (m) => {
      if (m[0] === WS.resize) for (const size of parseSizes(m.subarray(1))) cb(size);
    }),
    finish: (status) => {
      send(WS.error, Buffer.from(JSON.stringify(status)));
      ws.close();
    },
    onClose: (cb) => ws.on('close', cb),
  };
}

/**
 * spdyChannels waits for the streams the client must open for this request
 * (error, and stdin, stdout, stderr, resize as asked), then gives Channels
 * over them; undefined if they do not all come within 30 s.
 */
export function spdyChannels(session: SpdySession, q: URLSearchParams): Promise<Channels | undefined> {
  const tty = flag(q, 'tty');
  const expected = ['error', ...(flag(q, 'stdin') ? ['stdin'] : []), ...(flag(q, 'stdout') ? ['stdout'] : []), ...(flag(q, 'stderr') && !tty ? ['stderr'] : []), ...(tty ? ['resize'] : [])];
  const streams = new Map<string, SpdyStream>();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.close();
      resolve(undefined);
    }, 30_000);
    session.on('stream', (s) => {
      streams.set(s.headers.streamtype ?? '', s);
      if (!expected.every((e) => streams.has(e))) return;
      clearTimeout(timer);
      resolve({
        stdout: (b) => streams.get('stdout')?.write(b),
        stderr: (b) => streams.get('stderr')?.write(b),
        onStdin: (cb, onEnd) => {
          streams.get('stdin')?.on('data', cb);
          streams.get('stdin')?.on('end', onEnd);
        },
        onResize: (cb) => streams.get('resize')?.on('data', (b) => {
          for (const size of parseSizes(b)) cb(size);
        }),
        finish: (status) => {
          for (const name of ['stdout', 'stderr']) streams.get(name)?.end();
          streams.get('error')?.end(Buffer.from(JSON.stringify(status)));
          // Let the client read the Status before the connection goes.
          setTimeout(() => session.close(), 100);
        },
        onClose: (cb) => session.on('close', cb),
      });
    });
  });
}

const success = { metadata: {}, status: 'Success' };

function exitStatus(command: readonly string[], exitCode: number): object {
  if (exitCode === 0) return success;
  return {
    metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** runExec runs the query's command in the container's network, UTS and mount namespaces (nsenter; the mount namespace holds the pod's /etc/resolv.conf and /etc/hosts), its stdio on the channels. */
export function runExec(r: StreamRequest, ch: Channels): void {
  const command = r.query.getAll('command');
  const tty = flag(r.query, 'tty');
  const pid = r.run.process.pid;
  if (pid === undefined) return ch.finish({ metadata: {}, status: 'Failure', reason: 'BadRequest', message: `container ${r.run.spec.name} is not running` });
  log.info(3, 'exec', { pod: r.worker.name, container: r.run.spec.name, command });
  const run = withContainerPath(r.run.env, command);
  const argv = execWhenMounted(r.run.process.mountedMarker, run.argv);
  const child = spawn('nsenter', ['-t', String(pid), '-n', '-u', '-m', '--', ...(tty ? ttyArgv(argv) : argv)], {
    env: { HOSTNAME: r.worker.pod.spec?.hostname ?? r.worker.pod.metadata?.name ?? '', ...(tty ? { TERM: 'xterm' } : {}), ...run.env },
    stdio: [flag(r.query, 'stdin') ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => ch.stdout(b));
  child.stderr!.on('data', (b: Buffer) => ch.stderr(b));
  child.stdin?.on('error', () => undefined);
  ch.onStdin((b) => child.stdin?.write(b), () => child.stdin?.end());
  ch.onClose(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  if (tty && child.pid !== undefined) {
    const scriptPid = child.pid;
    ch.onResize((size) => void resizeTerminal(scriptPid, size));
  }
  child.on('error', (error) => ch.stderr(Buffer.from(`${error.message}\n`)));
  child.on('close', (code) => ch.finish(exitStatus(command, code ?? 128)));
}

/** runAttach joins the running container's output from now on, and its stdin when it keeps one open. */
export function runAttach(r: StreamRequest, ch: Channels): void {
  const proc = r.run.process;
  const stop = proc.log.follow({ write: (c) => ch.stdout(Buffer.from(c.text)), end: () => ch.finish(success) });
  const stdin = proc.stdin;
  ch.onStdin((b) => stdin?.write(b), () => undefined);
  const pid = proc.pid;
  if (r.run.spec.tty && pid !== undefined) ch.onResize((size) => void resizeTerminal(pid, size));
  ch.onClose(stop);
}

/**
 * resizeTerminal sets the size of the pseudo-terminal `script` (pid) made
 * for its child, which signals SIGWINCH to the program on it. The child may
 * not have started yet when the first size arrives: retried for a second.
 */
async function resizeTerminal(scriptPid: number, size: TerminalSize): Promise<void> {
  if (size.width <= 0 || size.height <= 0) return;
  for (let attempt = 0; attempt < 10; attempt++) {
    const tty = terminalOfChild(scriptPid);
    if (tty) {
      await execFile('stty', ['-F', tty, 'rows', String(size.height), 'cols', String(size.width)], { allowFailure: true, timeoutMs: 2000 });
      return;
    }
    await sleep(100);
  }
}

function terminalOfChild(pid: number): string | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) {
      const tty = readlinkSync(`/proc/${child}/fd/0`);
      if (tty.startsWith('/dev/pts/')) return tty;
    }
  } catch {
    // The process is gone or not started yet.
  }
  return undefined;
}
