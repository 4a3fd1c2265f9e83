import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { PacketHandler } from './packet-handler.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-udp');

/**
 * UdpServer answers DNS over UDP. The receive buffer is enlarged so bursts
 * wait in the kernel rather than being dropped; a query is answered on the
 * same socket, one datagram per query.
 */
export class UdpServer {
  readonly #socket: Socket;
  readonly #handler: PacketHandler;
  #closed = false;

  constructor(handler: PacketHandler, family: 4 | 6) {
    this.#handler = handler;
    // reuseAddr: a socket per local address (AddressSockets) shares the port with a wildcard one.
    this.#socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: true, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#socket.on('error', (err) => log.error('UDP socket error', { err }));
  }

  listen(port: number, address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(port, address, () => {
        this.#socket.off('error', reject);
        try {
          this.#socket.setRecvBufferSize(4 << 20);
          this.#socket.setSendBufferSize(4 << 20);
        } catch {
          // rmem_max may cap the size; the default still works.
        }
        resolve(this.#socket.address().port);
      });
    });
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const answer = this.#handler.handle(msg, { proto: 'udp', address: rinfo.address, family: rinfo.family === 'IPv6' ? 6 : 4, port: rinfo.port });
    if (answer === undefined) return;
    if (answer instanceof Promise) void answer.then((buf) => buf && this.#send(buf, rinfo));
    else this.#send(answer, rinfo);
  }

  #send(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    this.#socket.send(buf, rinfo.port, rinfo.address, (err) => {
      if (err) log.info(2, 'UDP send failed', { to: rinfo.address, err });
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
