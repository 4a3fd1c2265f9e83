import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatChunk } from './container-log.ts';
import { flag, runAttach, runExec, spdyChannels, webSocketChannels } from './pod-exec.ts';
import { servePortForward } from './pod-portforward.ts';
import type { ContainerRun, PodWorker } from './pod-worker.ts';
import { SpdySession } from './spdy.ts';
import { acceptWebSocket, isWebSocketRequest } from './websocket.ts';

/**
 * PodStreamServer is the node agent's streaming endpoint (kubelet's server on
 * its port 10250, here on loopback): the apiserver relays `pods/log`,
 * `pods/exec` and `pods/attach` to it unchanged (same path and query), and
 * it answers them from the pod workers: logs from the containers' kept
 * output (follow, previous, tail, since, timestamps), exec by running the
 * command in the container's network and UTS namespaces with `nsenter`,
 * attach by joining the container's output and stdin, port-forward by
 * connecting to the pod's loopback. Exec and attach speak WebSocket
 * (v5/v4.channel.k8s.io, kubectl ≥ 1.31) or SPDY/3.1 (v4.channel.k8s.io,
 * older kubectl and the fallback), see pod-exec.ts; port-forward speaks
 * SPDY/3.1 (portforward.k8s.io), tunnelled through WebSocket by kubectl ≥
 * 1.31, see pod-portforward.ts.
 */

const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const PORTFORWARD_OVER_WEBSOCKET = 'SPDY/3.1+portforward.k8s.io';
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
    try {
      const t = target(req.url, this.find);
      if (t.action === 'log') throw new StreamError(400, 'BadRequest', 'logs are not streamed over an upgraded connection');
      if (t.action !== 'portforward' && t.run.process.pid === undefined) throw new StreamError(400, 'BadRequest', `container ${t.run.spec.name} is not running`);
      if (isWebSocketRequest(req)) return this.upgradeWebSocket(t, req, socket, head);
      if ((req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1') return this.upgradeSpdy(t, req, socket, head);
      throw new StreamError(400, 'BadRequest', `${t.action} needs an upgrade to WebSocket or SPDY/3.1`);
    } catch (error) {
      const e = error instanceof StreamError ? error : new StreamError(500, 'InternalError', String(error));
      const body = JSON.stringify(status(e.code, e.reason, e.message));
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  }

  private upgradeWebSocket(t: Target, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ws = acceptWebSocket(req, socket, head, t.action === 'portforward' ? [PORTFORWARD_OVER_WEBSOCKET] : CHANNEL_PROTOCOLS);
    if (!ws) return;
    this.track(() => ws.close(), (cb) => ws.on('close', cb));
    if (t.action === 'portforward') {
      // kubectl ≥ 1.31 tunnels the SPDY session of port-forward through WebSocket binary messages.
      const session = new SpdySession({ write: (b) => ws.send(b), end: () => ws.close(), onData: (cb) => ws.on('message', cb), onClose: (cb) => ws.on('close', cb) });
      return servePortForward(session, t.worker);
    }
    const channels = webSocketChannels(ws);
    if (t.action === 'exec') runExec(t, channels);
    else runAttach(t, channels);
  }

  /** upgradeSpdy answers 101 with the first stream protocol both sides know, then serves the streams the client opens. */
  private upgradeSpdy(t: Target, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = (req.headers['x-stream-protocol-version'] ?? '').toString().split(',').map((p) => p.trim());
    const protocol = t.action === 'portforward' ? (offered.includes('portforward.k8s.io') ? 'portforward.k8s.io' : undefined) : offered.find((p) => p === 'v4.channel.k8s.io');
    if (!protocol) throw new StreamError(403, 'Forbidden', `none of the stream protocols ${offered.join(', ')} is supported (v4.channel.k8s.io, portforward.k8s.io)`);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const session = new SpdySession({
      write: (b) => socket.write(b),
      end: () => socket.end(),
      onData: (cb) => {
        socket.on('data', cb);
        if (head.length > 0) queueMicrotask(() => cb(head));
      },
      onClose: (cb) => socket.on('close', cb),
    });
    this.track(() => session.close(), (cb) => session.on('close', cb));
    if (t.action === 'portforward') return servePortForward(session, t.worker);
    void spdyChannels(session, t.query).then((channels) => {
      if (!channels) return;
      if (t.action === 'exec') runExec(t, channels);
      else runAttach(t, channels);
    });
  }

  private track(end: () => void, onClose: (cb: () => void) => void): void {
    const session = { end };
    this.sessions.add(session);
    onClose(() => this.sessions.delete(session));
  }
}
