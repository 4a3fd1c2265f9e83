import { createServer, type Server, type Socket } from 'node:net';
import type { PacketHandler } from './packet-handler.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-tcp');

export interface TcpServerOptions {
  /** Close a connection with no query for this long (RFC 7766 §6.2.3 suggests seconds). */
  idleTimeoutMs: number;
  /** Most open connections; more are closed at once. */
  maxConnections: number;
}

/**
 * TcpServer answers DNS over TCP (RFC 7766): length-prefixed messages, any
 * number of queries per connection, pipelined queries answered as each is
 * ready (possibly out of order), and an idle timeout. A frame too short to
 * hold a header closes the connection.
 */
export class TcpServer {
  readonly #server: Server;
  readonly #handler: PacketHandler;
  readonly #options: TcpServerOptions;
  readonly #sockets = new Set<Socket>();

  constructor(handler: PacketHandler, options: TcpServerOptions) {
    this.#handler = handler;
    this.#options = options;
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    this.#server.maxConnections = options.maxConnections;
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

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', (err) => log.info(4, 'TCP connection error', { err }));
    socket.setTimeout(this.#options.idleTimeoutMs, () => socket.destroy());
    const client = { proto: 'tcp' as const, address: socket.remoteAddress ?? '', family: (socket.remoteFamily === 'IPv6' ? 6 : 4) as 4 | 6 };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
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
        const answer = this.#handler.handle(msg, client);
        if (answer instanceof Promise) void answer.then((buf) => buf && write(socket, buf));
        else if (answer) write(socket, answer);
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
    });
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function write(socket: Socket, answer: Buffer): void {
  if (socket.destroyed || answer.length > 0xffff) return;
  const frame = Buffer.allocUnsafe(2 + answer.length);
  frame.writeUInt16BE(answer.length, 0);
  answer.copy(frame, 2);
  socket.write(frame);
}
