import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createLogger } from '../util/log.ts';
import type { RoundRobin } from './load-balancer.ts';

const log = createLogger('userspace');

/** Socket buffer size of UDP listeners and sessions: room for bursts without drops. */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/** UdpStats are the counters a UDP listener feeds. */
export interface UdpStats {
  onSessionOpened(serviceKey: string): void;
  onSessionClosed(serviceKey: string): void;
  onNoEndpoint(serviceKey: string): void;
}

/**
 * UdpSession is one client's flow to its backend: a socket of its own sends
 * the client's datagrams to the endpoint, and the backend's replies are sent
 * back to the client from the listener socket, i.e. from the address the
 * client's datagram was REDIRECTed to, so the portal's conntrack entry
 * rewrites them back to the service address. It closes after `idleMs`
 * without traffic either way.
 */
class UdpSession {
  readonly endpoint: string;
  private readonly host: string;
  private readonly port: number;
  private readonly upstream: Socket;
  private readonly timer: NodeJS.Timeout;

  constructor(endpoint: string, client: RemoteInfo, listener: Socket, idleMs: number, onIdle: () => void) {
    this.endpoint = endpoint;
    const sep = endpoint.lastIndexOf(':');
    this.host = endpoint.slice(0, sep);
    this.port = Number(endpoint.slice(sep + 1));
    this.upstream = createSocket({ type: 'udp4', recvBufferSize: UDP_BUFFER_BYTES, sendBufferSize: UDP_BUFFER_BYTES });
    this.upstream.on('message', (msg, from) => {
      // The session socket is unconnected; only the chosen backend may answer through it.
      if (from.port !== this.port || from.address !== this.host) return;
      this.timer.refresh();
      listener.send(msg, client.port, client.address);
    });
    this.upstream.on('error', (err) => log.info(1, 'UDP session socket error', { endpoint, err }));
    this.timer = setTimeout(onIdle, idleMs);
  }

  send(msg: Buffer): void {
    this.timer.refresh();
    this.upstream.send(msg, this.port, this.host);
  }

  close(): void {
    clearTimeout(this.timer);
    this.upstream.close();
  }
}

/**
 * UdpProxy is the listener of one UDP service port with its per-client
 * sessions (keyed by client address and port). Removing an endpoint leaves
 * existing sessions until they idle out; closing the proxy ends them all.
 */
export class UdpProxy {
  readonly serviceKey: string;
  private readonly socket: Socket;
  private readonly lb: RoundRobin;
  private readonly stats: UdpStats;
  private readonly idleMs: number;
  private readonly sessions = new Map<string, UdpSession>();

  private constructor(serviceKey: string, socket: Socket, lb: RoundRobin, idleMs: number, stats: UdpStats) {
    this.serviceKey = serviceKey;
    this.socket = socket;
    this.lb = lb;
    this.idleMs = idleMs;
    this.stats = stats;
  }

  /** open binds 0.0.0.0:port (0: ephemeral) and starts proxying. */
  static open(serviceKey: string, port: number, lb: RoundRobin, idleMs: number, stats: UdpStats): Promise<UdpProxy> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_BUFFER_BYTES, sendBufferSize: UDP_BUFFER_BYTES });
    const proxy = new UdpProxy(serviceKey, socket, lb, idleMs, stats);
    socket.on('message', (msg, rinfo) => proxy.forward(msg, rinfo));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address: '0.0.0.0' }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => log.error('UDP listener error', { service: serviceKey, err }));
        resolve(proxy);
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  close(): Promise<void> {
    for (const key of [...this.sessions.keys()]) this.endSession(key);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private forward(msg: Buffer, client: RemoteInfo): void {
    const key = `${client.address}:${client.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      const endpoint = this.lb.next(client.address);
      if (endpoint === undefined) {
        this.stats.onNoEndpoint(this.serviceKey);
        return;
      }
      session = new UdpSession(endpoint, client, this.socket, this.idleMs, () => this.endSession(key));
      this.sessions.set(key, session);
      this.stats.onSessionOpened(this.serviceKey);
    }
    session.send(msg);
  }

  private endSession(key: string): void {
    const session = this.sessions.get(key);
    if (!session) return;
    this.sessions.delete(key);
    session.close();
    this.stats.onSessionClosed(this.serviceKey);
  }
}
