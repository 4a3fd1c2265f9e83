import { createServer, type Server, type Socket } from 'node:net';
import type { Client } from './handler.ts';
import type { PacketHandler } from './packet-handler.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-tcp');

export interface TcpServerOptions {
  /** Close a connection with no message in progress for this long (RFC 7766 §6.2.3 suggests seconds). */
  idleTimeoutMs: number;
  /**
   * A message must arrive whole within this long of its first byte: the
   * per-message read deadline CoreDNS has, so a client trickling one byte
   * at a time cannot hold a connection (the idle timer would reset on
   * every byte). Default 3 s.
   */
  messageTimeoutMs?: number;
  /** Most open connections. A new client at the limit takes the place of the least recently active one. */
  maxConnections: number;
  /** Most open connections from one client address; more are closed at once. Default 100. */
  maxConnectionsPerSource?: number;
  /** Zone transfers (`transfer`, transfer.ts): the messages answering an AXFR/IXFR, or undefined for the handler to answer. */
  transfer?: { messages(packet: Buffer, client: Client): Iterable<Buffer> | undefined };
}

interface Conn {
  readonly socket: Socket;
  readonly source: string;
  timer: NodeJS.Timeout;
  /** A zone transfer being written: other answers on this connection wait for it, so its messages stay together. */
  busy: Promise<void> | undefined;
}

/**
 * TcpServer answers DNS over TCP (RFC 7766): length-prefixed messages, any
 * number of queries per connection, pipelined queries answered as each is
 * ready (possibly out of order), an idle timeout between messages and a read
 * deadline within one. A frame too short to hold a header closes the
 * connection. Slow or idle clients cannot lock others out: connections are
 * capped per source, and at the total cap a new client evicts the least
 * recently active connection.
 */
export class TcpServer {
  readonly #server: Server;
  readonly #handler: PacketHandler;
  readonly #idleMs: number;
  readonly #messageMs: number;
  readonly #max: number;
  readonly #maxPerSource: number;
  readonly #transfer: TcpServerOptions['transfer'];
  // Open connections in order of last activity (connect or a whole message): the first is evicted first.
  readonly #conns = new Map<Socket, Conn>();
  readonly #perSource = new Map<string, number>();

  constructor(handler: PacketHandler, options: TcpServerOptions) {
    this.#handler = handler;
    this.#idleMs = options.idleTimeoutMs;
    this.#messageMs = options.messageTimeoutMs ?? 3000;
    this.#max = options.maxConnections;
    this.#maxPerSource = options.maxConnectionsPerSource ?? 100;
    this.#transfer = options.transfer;
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    this.#server.on('error', (err) => log.error('TCP server error', { err }));
  }

  listen(port: number, address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, address, () => {
        this.#server.off('error', reject);
        const a = this.#server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /** connectionCount is how many connections are open (for tests and metrics). */
  get connectionCount(): number {
    return this.#conns.size;
  }

  #admit(socket: Socket, source: string): Conn | undefined {
    const fromSource = this.#perSource.get(source) ?? 0;
    if (fromSource >= this.#maxPerSource) {
      socket.destroy();
      return undefined;
    }
    if (this.#conns.size >= this.#max) {
      const oldest = this.#conns.keys().next().value;
      oldest?.destroy();
    }
    this.#perSource.set(source, fromSource + 1);
    const conn: Conn = { socket, source, timer: setTimeout(() => socket.destroy(), this.#idleMs), busy: undefined };
    this.#conns.set(socket, conn);
    socket.on('close', () => this.#forget(conn));
    return conn;
  }

  #forget(conn: Conn): void {
    clearTimeout(conn.timer);
    if (!this.#conns.delete(conn.socket)) return;
    const left = (this.#perSource.get(conn.source) ?? 1) - 1;
    if (left <= 0) this.#perSource.delete(conn.source);
    else this.#perSource.set(conn.source, left);
  }

  /** #rearm starts the idle timer (between messages) or the message deadline (a message begun). */
  #rearm(conn: Conn, midMessage: boolean): void {
    clearTimeout(conn.timer);
    conn.timer = setTimeout(() => conn.socket.destroy(), midMessage ? this.#messageMs : this.#idleMs);
  }

  #onConnection(socket: Socket): void {
    socket.on('error', (err) => log.info(4, 'TCP connection error', { err }));
    const source = socket.remoteAddress ?? '';
    const conn = this.#admit(socket, source);
    if (!conn) return;
    const client = { proto: 'tcp' as const, address: source, family: (socket.remoteFamily === 'IPv6' ? 6 : 4) as 4 | 6, port: socket.remotePort, local: socket.localAddress };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const wasMidMessage = pending.length > 0;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (pending.length - off >= 2) {
        const len = pending.readUInt16BE(off);
        if (len < 12) {
          socket.destroy();
          return;
        }
        if (pending.length - off - 2 < len) break;
        const msg = Buffer.from(pending.subarray(off + 2, off + 2 + len));
        off += 2 + len;
        const xfr = this.#transfer?.messages(msg, client);
        if (xfr) {
          this.#startTransfer(conn, xfr);
          continue;
        }
        const answer = this.#handler.handle(msg, client);
        if (conn.busy) void Promise.all([conn.busy, answer]).then(([, buf]) => buf && write(socket, buf));
        else if (answer instanceof Promise) void answer.then((buf) => buf && write(socket, buf));
        else if (answer) write(socket, answer);
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
      if (off > 0) {
        // A whole message: the connection is active again (moves to the back of the eviction order).
        this.#conns.delete(socket);
        this.#conns.set(socket, conn);
        this.#rearm(conn, pending.length > 0);
      } else if (!wasMidMessage) this.#rearm(conn, true);
    });
  }

  /** #startTransfer writes a transfer's messages after whatever transfer the connection is writing. */
  #startTransfer(conn: Conn, messages: Iterable<Buffer>): void {
    const after = (conn.busy ?? Promise.resolve()).then(() => this.#stream(conn, messages));
    conn.busy = after;
    void after.finally(() => {
      if (conn.busy === after) conn.busy = undefined;
    });
  }

  /**
   * #stream writes one message at a time and waits for the client to take
   * each (the messages are built as they are pulled), so a large zone costs
   * one message of memory per transfer. Writing counts as activity: a client
   * that stops reading for the idle timeout is closed.
   */
  async #stream(conn: Conn, messages: Iterable<Buffer>): Promise<void> {
    try {
      for (const message of messages) {
        if (conn.socket.destroyed) return;
        this.#rearm(conn, false);
        if (!write(conn.socket, message)) await drained(conn.socket);
      }
    } catch (error) {
      log.error('Zone transfer failed', { client: conn.source, err: error });
      conn.socket.destroy();
    }
  }

  close(): Promise<void> {
    for (const socket of this.#conns.keys()) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** write frames and sends one answer; false when the socket's buffer is full (wait for 'drain'). */
function write(socket: Socket, answer: Buffer): boolean {
  if (socket.destroyed || answer.length > 0xffff) return true;
  const frame = Buffer.allocUnsafe(2 + answer.length);
  frame.writeUInt16BE(answer.length, 0);
  answer.copy(frame, 2);
  return socket.write(frame);
}

/** drained resolves when the socket can take more, or is gone. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}
