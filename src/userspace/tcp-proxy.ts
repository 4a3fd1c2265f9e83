import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createLogger } from '../util/log.ts';
import type { ConnectionCounts } from './connection-counts.ts';
import type { RoundRobin } from './load-balancer.ts';

const log = createLogger('userspace');

/**
 * DIAL_TIMEOUTS_MS are the old kube-proxy's `tryConnect` timeouts: each
 * failed dial moves to the next endpoint with a longer timeout, so a dead
 * pod costs a client one fast retry instead of an error.
 */
export const DIAL_TIMEOUTS_MS = [250, 500, 1000, 2000] as const;

/** TcpStats are the counters a TCP listener feeds (metrics read them). */
export interface TcpStats {
  readonly counts: ConnectionCounts;
  onAccepted(serviceKey: string): void;
  onDialFailure(serviceKey: string): void;
  onNoEndpoint(serviceKey: string): void;
}

/**
 * TcpProxy is the listener of one TCP service port. Each accepted client is
 * connected to an endpoint picked by the service's RoundRobin and the two
 * sockets are piped both ways: `pipe` pauses the reader while the writer's
 * buffer is full (back-pressure), and with allowHalfOpen a FIN from one side
 * is forwarded as a FIN to the other while the reverse direction keeps
 * flowing (half-close). The backend sees the node as the client: the source
 * IP is lost in this mode, as in upstream's userspace proxy.
 */
export class TcpProxy {
  readonly serviceKey: string;
  /** The listening server (shared with worker processes by the primary). */
  readonly server: Server;
  private readonly lb: RoundRobin;
  private readonly stats: TcpStats;

  private constructor(serviceKey: string, server: Server, lb: RoundRobin, stats: TcpStats) {
    this.serviceKey = serviceKey;
    this.server = server;
    this.lb = lb;
    this.stats = stats;
  }

  /**
   * open listens on host:port (port 0: ephemeral), or on the socket of a
   * listener another process sent us (both then accept from it), and starts
   * proxying.
   */
  static open(serviceKey: string, where: { host: string; port: number } | Server, lb: RoundRobin, stats: TcpStats): Promise<TcpProxy> {
    // pauseOnConnect: nothing is read from the client before its backend is connected,
    // so a client that sends first is held by the kernel's buffers, not by ours.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    const proxy = new TcpProxy(serviceKey, server, lb, stats);
    server.on('connection', (client) => proxy.accept(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        server.on('error', (err) => log.error('TCP listener error', { service: serviceKey, err }));
        resolve(proxy);
      };
      // listen(handle) takes the received server's socket over, options and all.
      if ('host' in where) server.listen({ port: where.port, host: where.host, backlog: 4096 }, listening);
      else server.listen(where, listening);
    });
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /**
   * close stops accepting; connections already proxied run until either side
   * ends them (drain). It does not wait for them: server.close's callback
   * would, and a sync must not block on a long-lived connection.
   */
  close(): Promise<void> {
    this.server.close();
    return new Promise((resolve) => setImmediate(resolve));
  }

  private accept(client: Socket): void {
    this.stats.onAccepted(this.serviceKey);
    client.on('error', () => client.destroy());
    const clientIP = client.remoteAddress ?? '';
    void this.dial(clientIP, client).then((picked) => {
      if (!picked) {
        client.destroy();
        return;
      }
      if (client.destroyed) {
        picked.backend.destroy();
        return;
      }
      splice(client, picked.backend, picked.endpoint, this.stats.counts);
    });
  }

  /** dial tries endpoints with escalating timeouts, moving on after each failure (upstream's tryConnect). */
  private async dial(clientIP: string, client: Socket): Promise<{ backend: Socket; endpoint: string } | undefined> {
    for (let attempt = 0; attempt < DIAL_TIMEOUTS_MS.length; attempt++) {
      if (client.destroyed) return undefined;
      const endpoint = this.lb.next(clientIP, attempt > 0);
      if (endpoint === undefined) {
        this.stats.onNoEndpoint(this.serviceKey);
        return undefined;
      }
      try {
        return { backend: await connect(endpoint, DIAL_TIMEOUTS_MS[attempt]!), endpoint };
      } catch (err) {
        this.stats.onDialFailure(this.serviceKey);
        log.info(1, 'Dial to endpoint failed, trying the next', { service: this.serviceKey, endpoint, attempt, err });
      }
    }
    log.warn('No endpoint accepted the connection', { service: this.serviceKey, client: clientIP });
    return undefined;
  }
}

/** connect opens a TCP connection to `ip:port`, failing after timeoutMs. */
function connect(endpoint: string, timeoutMs: number): Promise<Socket> {
  const sep = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, sep);
  const port = Number(endpoint.slice(sep + 1));
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect ${endpoint}: timeout after ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * splice pipes client ⇄ backend until both directions are done. An error on
 * either side (reset, timeout) tears down both, as a reset must propagate.
 */
function splice(client: Socket, backend: Socket, endpoint: string, counts: ConnectionCounts): void {
  counts.opened(endpoint);
  let open = 2;
  const done = () => {
    if (--open === 0) counts.closed(endpoint);
  };
  const teardown = (err: Error) => {
    log.info(2, 'Proxied connection failed, closing both sides', { endpoint, err });
    client.destroy();
    backend.destroy();
  };
  client.on('close', done);
  backend.on('close', done);
  client.on('error', teardown);
  backend.on('error', teardown);
  client.pipe(backend);
  backend.pipe(client);
}
