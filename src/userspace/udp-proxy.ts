import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createLogger } from '../util/log.ts';
import { RoundRobin } from './load-balancer.ts';

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
  private readonly sockets: readonly Socket[];
  private readonly lb = new RoundRobin();
  private readonly stats: UdpStats;
  private readonly idleMs: number;
  private readonly sessions = new Map<string, UdpSession>();

  private constructor(serviceKey: string, sockets: readonly Socket[], idleMs: number, stats: UdpStats) {
    this.serviceKey = serviceKey;
    this.sockets = sockets;
    this.idleMs = idleMs;
    this.stats = stats;
  }

  /**
   * open binds host:port (port 0: ephemeral) and, when host is 0.0.0.0, also
   * 127.0.0.1 on the same port.
   * Replies leave from the socket the request arrived on: an unconnected UDP
   * socket's source address is chosen by routing, and for the node's own
   * traffic (DNATed to loopback) that would not be 127.0.0.1, so conntrack
   * would not recognise the reply. The loopback socket is bound more
   * specifically and gets exactly that traffic.
   */
  static async open(serviceKey: string, host: string, port: number, idleMs: number, stats: UdpStats): Promise<UdpProxy> {
    const sockets = [await bindUdp(host, port)];
    if (host === '0.0.0.0') {
      try {
        sockets.push(await bindUdp('127.0.0.1', sockets[0]!.address().port));
      } catch (err) {
        sockets[0]!.close();
        throw err;
      }
    }
    const proxy = new UdpProxy(serviceKey, sockets, idleMs, stats);
    for (const s of proxy.sockets) {
      s.on('message', (msg, rinfo) => proxy.forward(s, msg, rinfo));
      s.on('error', (err) => log.error('UDP listener error', { service: serviceKey, err }));
    }
    return proxy;
  }

  get port(): number {
    return this.sockets[0]!.address().port;
  }

  /** update sets the endpoints new sessions may use and the ClientIP affinity timeout (0: none). */
  update(endpoints: readonly string[], affinityMs: number): void {
    this.lb.setEndpoints(endpoints);
    this.lb.setAffinity(affinityMs);
    this.lb.expireAffinity();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  close(): Promise<void> {
    for (const key of [...this.sessions.keys()]) this.endSession(key);
    return Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  }

  private forward(via: Socket, msg: Buffer, client: RemoteInfo): void {
    const key = `${client.address}:${client.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      const endpoint = this.lb.next(client.address);
      if (endpoint === undefined) {
        this.stats.onNoEndpoint(this.serviceKey);
        return;
      }
      session = new UdpSession(endpoint, client, via, this.idleMs, () => this.endSession(key));
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

/** bindUdp binds a UDP socket with SO_REUSEADDR, so 0.0.0.0:p and 127.0.0.1:p can both be held. */
function bindUdp(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: UDP_BUFFER_BYTES, sendBufferSize: UDP_BUFFER_BYTES });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ port, address }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
