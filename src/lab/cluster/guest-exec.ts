import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { LabError } from './errors.ts';

/**
 * The exec channel into an ipvs lab's User-Mode Linux guest. The guest's pods
 * and nodes are namespaces of the guest kernel, out of the host's reach, so
 * `ferry exec`, `ferry up`'s demo check and the e2e suite send each command
 * to an agent in the guest (`ferry lab-guest`) over the guest link, the one
 * network path between host and guest, which lives in a lab namespace: the
 * host side speaks through `socat` started in that namespace.
 *
 * Protocol: the client sends one JSON request line; the agent answers with
 * frames [kind u8][length u32 BE][payload]: stdout, stderr, then one exit
 * frame whose payload is the exit code as JSON.
 */

export type GuestRequest =
  | { op: 'exec'; ns: string; argv: string[]; timeoutMs?: number }
  | { op: 'restart'; component: string };

const FRAME = { stdout: 1, stderr: 2, exit: 3 } as const;

export interface GuestResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** GuestHandlers are what the agent does for each request; `restart` resolves once the component runs again. */
export interface GuestHandlers {
  restart(component: string): Promise<void>;
}

function frame(kind: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function exitFrame(code: number): Buffer {
  return frame(FRAME.exit, Buffer.from(JSON.stringify(code)));
}

function runExec(socket: Socket, req: Extract<GuestRequest, { op: 'exec' }>): void {
  const child = spawn('ip', ['netns', 'exec', req.ns, ...req.argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = req.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), req.timeoutMs) : undefined;
  child.stdout.on('data', (b: Buffer) => socket.write(frame(FRAME.stdout, b)));
  child.stderr.on('data', (b: Buffer) => socket.write(frame(FRAME.stderr, b)));
  const finish = (code: number, message?: string) => {
    clearTimeout(timer);
    if (message) socket.write(frame(FRAME.stderr, Buffer.from(message)));
    socket.end(exitFrame(code));
  };
  child.once('error', (error) => finish(127, `${error.message}\n`));
  child.once('close', (code, signal) => finish(code ?? (signal ? 128 + 9 : 1)));
  socket.once('close', () => child.exitCode === null && child.kill('SIGKILL'));
}

async function handle(socket: Socket, line: string, handlers: GuestHandlers): Promise<void> {
  let req: GuestRequest;
  try {
    req = JSON.parse(line) as GuestRequest;
  } catch {
    socket.end(exitFrame(2));
    return;
  }
  if (req.op === 'exec' && Array.isArray(req.argv) && req.argv.length > 0) return runExec(socket, req);
  if (req.op === 'restart') {
    try {
      await handlers.restart(req.component);
      socket.end(exitFrame(0));
    } catch (error) {
      socket.write(frame(FRAME.stderr, Buffer.from(`${(error as Error).message}\n`)));
      socket.end(exitFrame(1));
    }
    return;
  }
  socket.end(exitFrame(2));
}

/** serveGuestExec runs the agent's listener (inside the guest). */
export function serveGuestExec(host: string, port: number, handlers: GuestHandlers): Promise<Server> {
  // Half-open: socat half-closes once it has sent the request, and the answer still has to go back.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let buffered = '';
    socket.on('error', () => socket.destroy());
    const onData = (b: Buffer) => {
      buffered += b.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      void handle(socket, buffered.slice(0, nl), handlers);
    };
    socket.on('data', onData);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** FrameReader reassembles the agent's frames from socat's stdout chunks. */
class FrameReader {
  #pending = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 5) {
      const length = this.#pending.readUInt32BE(1);
      if (this.#pending.length < 5 + length) return;
      onFrame(this.#pending.readUInt8(0), this.#pending.subarray(5, 5 + length));
      this.#pending = this.#pending.subarray(5 + length);
    }
  }
}

export interface GuestLink {
  /** Host-side lab namespace holding the guest link. */
  ns: string;
  /** The agent's address and port on the guest link. */
  address: string;
  port: number;
}

export interface GuestCallOptions {
  timeoutMs?: number;
  /** Called with output as it arrives (ferry exec streams it); otherwise it is only collected. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** callGuest sends one request to the agent and resolves with its exit code and output. */
export function callGuest(link: GuestLink, req: GuestRequest, opts: GuestCallOptions = {}): Promise<GuestResult> {
  return new Promise((resolve, reject) => {
    // socat keeps the connection until the agent closes it (-t: after our stdin ends, wait for the answer).
    const limit = Math.ceil((opts.timeoutMs ?? 600_000) / 1000) + 5;
    const socat = spawn('ip', ['netns', 'exec', link.ns, 'socat', '-t', String(limit), '-', `TCP:${link.address}:${link.port},connect-timeout=5`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let code: number | undefined;
    const reader = new FrameReader();
    socat.stdout.on('data', (chunk: Buffer) => reader.push(chunk, (kind, payload) => {
      if (kind === FRAME.exit) code = Number(JSON.parse(payload.toString('utf8')));
      const stream = kind === FRAME.stdout ? 'stdout' : kind === FRAME.stderr ? 'stderr' : undefined;
      if (!stream) return;
      (stream === 'stdout' ? out : err).push(Buffer.from(payload));
      opts.onOutput?.(stream, payload);
    }));
    const socatErr: Buffer[] = [];
    socat.stderr.on('data', (b: Buffer) => socatErr.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => socat.kill('SIGKILL'), opts.timeoutMs + 5000) : undefined;
    socat.once('error', (error) => reject(new LabError('FERRY_ERR_LAB_GUEST', `cannot reach the lab's UML guest: ${error.message}`)));
    socat.once('close', () => {
      clearTimeout(timer);
      if (code === undefined) {
        reject(new LabError('FERRY_ERR_LAB_GUEST', `the lab's UML guest agent at ${link.address}:${link.port} did not answer${socatErr.length ? `: ${Buffer.concat(socatErr).toString().trim()}` : ''}`));
        return;
      }
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // socat may exit before reading (guest not reachable yet): its close handler reports that.
    socat.stdin.on('error', () => undefined);
    socat.stdin.end(`${JSON.stringify(req)}\n`);
  });
}
