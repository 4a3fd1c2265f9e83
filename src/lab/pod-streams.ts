import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createLogger } from '../util/log.ts';
import { formatChunk } from './container-log.ts';
import { ttyArgv } from './container.ts';
import type { ContainerRun, PodWorker } from './pod-worker.ts';
import { acceptWebSocket, isWebSocketRequest, type WebSocketConn } from './websocket.ts';

const log = createLogger('node');

/**
 * PodStreamServer is the node agent's streaming endpoint (kubelet's server on
 * its port 10250, here on loopback): the apiserver relays `pods/log`,
 * `pods/exec` and `pods/attach` to it unchanged (same path and query), and
 * it answers them from the pod workers: logs from the containers' kept
 * output (follow, previous, tail, since, timestamps), exec by running the
 * command in the container's network and UTS namespaces with `nsenter`,
 * attach by joining the container's output and stdin. Exec and attach speak
 * the WebSocket channel protocols v5/v4.channel.k8s.io: one binary message
 * per write, its first byte the channel (0 stdin, 1 stdout, 2 stderr, 3 the
 * final Status as JSON, 4 terminal size), and in v5 a message on channel 255
 * whose next byte names a channel the client closed (stdin's end).
 */

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;
const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(log|exec|attach|portforward)$/;

type FindPod = (namespace: string, name: string) => PodWorker | undefined;

interface Target {
  worker: PodWorker;
  run: ContainerRun;
  action: string;
  query: URLSearchParams;
}

class StreamError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function target(url: string | undefined, find: FindPod): Target {
  const u = new URL(url ?? '/', 'http://node');
  const m = PATH.exec(u.pathname);
  if (!m) throw new StreamError(404, 'NotFound', `no such path ${u.pathname}`);
  const [, namespace, name, action] = m.map(decodeURIComponent) as [string, string, string, string];
  const worker = find(namespace, name);
  if (!worker) throw new StreamError(404, 'NotFound', `pod "${name}" in namespace "${namespace}" is not running on this node`);
  const container = u.searchParams.get('container') ?? undefined;
  const run = worker.container(container);
  if (!run) throw new StreamError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
  return { worker, run, action, query: u.searchParams };
}

const flag = (q: URLSearchParams, name: string) => q.get(name) === 'true' || q.get(name) === '1';
const intParam = (q: URLSearchParams, name: string) => (/^\d+$/.test(q.get(name) ?? '') ? Number(q.get(name)) : undefined);

export class PodStreamServer {
  private readonly server: Server;
  private readonly find: FindPod;
  private readonly sessions = new Set<{ end(): void }>();

  constructor(find: FindPod) {
    this.find = find;
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  /** listen serves on a free loopback port and returns it. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      const t = target(req.url, this.find);
      if (t.action !== 'log' || req.method !== 'GET') throw new StreamError(400, 'BadRequest', `${t.action} needs a WebSocket upgrade`);
      this.serveLog(t, res);
    } catch (error) {
      const e = error instanceof StreamError ? error : new StreamError(500, 'InternalError', String(error));
      res.writeHead(e.code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status(e.code, e.reason, e.message)));
    }
  }

  private serveLog(t: Target, res: ServerResponse): void {
    const previous = flag(t.query, 'previous');
    const clog = previous ? t.run.process.previousLog : t.run.process.log;
    if (!clog) throw new StreamError(400, 'BadRequest', `previous terminated container "${t.run.spec.name}" in pod "${t.worker.pod.metadata?.name}" not found`);
    const timestamps = flag(t.query, 'timestamps');
    const since = intParam(t.query, 'sinceSeconds');
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(clog.select({ tailLines: intParam(t.query, 'tailLines'), timestamps, ...(since !== undefined ? { sinceMs: since * 1000 } : {}) }));
    if (!flag(t.query, 'follow') || previous) return void res.end();
    const session = { end: () => res.end() };
    this.sessions.add(session);
    const stop = clog.follow({ write: (c) => res.write(formatChunk(c, timestamps)), end: () => res.end() });
    res.on('close', () => {
      stop();
      this.sessions.delete(session);
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    let t: Target;
    try {
      t = target(req.url, this.find);
      if (t.action === 'portforward') throw new StreamError(400, 'BadRequest', 'port-forward is not supported by the ferry node agent yet');
      if (t.action === 'log') throw new StreamError(400, 'BadRequest', 'logs are not streamed over an upgraded connection');
      if (!isWebSocketRequest(req)) throw new StreamError(400, 'BadRequest', `${t.action} speaks WebSocket (${PROTOCOLS.join(', ')}) only; SPDY is not supported`);
      if (t.run.process.pid === undefined) throw new StreamError(400, 'BadRequest', `container ${t.run.spec.name} is not running`);
    } catch (error) {
      const e = error instanceof StreamError ? error : new StreamError(500, 'InternalError', String(error));
      const body = JSON.stringify(status(e.code, e.reason, e.message));
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const ws = acceptWebSocket(req, socket, head, PROTOCOLS);
    if (!ws) return;
    if (t.action === 'exec') this.exec(t, ws);
    else this.attach(t, ws);
  }

  private track(ws: WebSocketConn): void {
    const session = { end: () => ws.close() };
    this.sessions.add(session);
    ws.on('close', () => this.sessions.delete(session));
  }

  /** exec runs the query's command in the container's namespaces, its stdio on the channels. */
  private exec(t: Target, ws: WebSocketConn): void {
    this.track(ws);
    const command = t.query.getAll('command');
    const tty = flag(t.query, 'tty');
    const wantStdin = flag(t.query, 'stdin');
    const argv = ['-t', String(t.run.process.pid), '-n', '-u', '--', ...(tty ? ttyArgv(command) : command)];
    log.info(3, 'exec', { pod: t.worker.name, container: t.run.spec.name, command });
    const child = spawn('nsenter', argv, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: t.worker.pod.spec?.hostname ?? t.worker.pod.metadata?.name ?? '', ...(tty ? { TERM: 'xterm' } : {}), ...t.run.env },
      stdio: [wantStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const send = (channel: number, b: Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), b]));
    child.stdout!.on('data', (b: Buffer) => send(CHANNEL.stdout, b));
    child.stderr!.on('data', (b: Buffer) => send(CHANNEL.stderr, b));
    child.stdin?.on('error', () => undefined);
    ws.on('message', (m) => {
      if (m[0] === CHANNEL.stdin) child.stdin?.write(m.subarray(1));
      else if (m[0] === CHANNEL.close && m[1] === CHANNEL.stdin) child.stdin?.end();
    });
    ws.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.on('error', (error) => send(CHANNEL.stderr, Buffer.from(`${error.message}\n`)));
    child.on('close', (code, signal) => {
      const exitCode = code ?? 128;
      const result = exitCode === 0
        ? { metadata: {}, status: 'Success' }
        : {
          metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
          message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}${signal ? ` (${signal})` : ''}`,
          details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
        };
      send(CHANNEL.error, Buffer.from(JSON.stringify(result)));
      ws.close();
    });
  }

  /** attach joins the running container's output from now on, and its stdin when it keeps one open. */
  private attach(t: Target, ws: WebSocketConn): void {
    this.track(ws);
    const proc = t.run.process;
    const send = (channel: number, b: Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), b]));
    const stop = proc.log.follow({
      write: (c) => send(CHANNEL.stdout, Buffer.from(c.text)),
      end: () => {
        send(CHANNEL.error, Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' })));
        ws.close();
      },
    });
    const stdin = proc.stdin;
    ws.on('message', (m) => {
      if (m[0] === CHANNEL.stdin) stdin?.write(m.subarray(1));
    });
    ws.on('close', stop);
  }
}
