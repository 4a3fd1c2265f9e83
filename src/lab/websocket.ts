import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * A minimal RFC 6455 WebSocket server side, enough for the streaming
 * protocols kubectl speaks to the node agent (`v5.channel.k8s.io`,
 * `v4.channel.k8s.io`): the handshake with subprotocol choice, masked client
 * frames (fragmented or not), unmasked server frames, ping/pong and close.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface WebSocketEvents {
  message: [Buffer];
  close: [];
}

export class WebSocketConn extends EventEmitter<WebSocketEvents> {
  readonly protocol: string;
  private readonly socket: Duplex;
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;
  private ended = false;

  constructor(socket: Duplex, protocol: string, head: Buffer) {
    super();
    this.socket = socket;
    this.protocol = protocol;
    socket.on('data', (b: Buffer) => this.receive(b));
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
    if (head.length > 0) queueMicrotask(() => this.receive(head));
  }

  private receive(b: Buffer): void {
    this.buffered = this.buffered.length === 0 ? b : Buffer.concat([this.buffered, b]);
    for (;;) {
      const frame = parseFrame(this.buffered);
      if (!frame) return;
      this.buffered = this.buffered.subarray(frame.size);
      this.onFrame(frame.fin, frame.opcode, frame.payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === OP.ping) return this.sendFrame(OP.pong, payload);
    if (opcode === OP.pong) return;
    if (opcode === OP.close) {
      this.close();
      return;
    }
    this.fragments.push(payload);
    if (!fin) return;
    const message = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit('message', message);
  }

  /** send writes one binary message. */
  send(data: Buffer): void {
    this.sendFrame(OP.binary, data);
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    if (this.closed || !this.socket.writable) return;
    this.socket.write(Buffer.concat([frameHeader(opcode, payload.length), payload]));
  }

  /** close sends a normal close frame and ends the connection. */
  close(code = 1000): void {
    if (this.closed) return;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    this.sendFrame(OP.close, body);
    this.closed = true;
    this.socket.end();
    this.finish();
  }

  /** finish reports the end of the connection once, however it ended. */
  private finish(): void {
    this.closed = true;
    if (this.ended) return;
    this.ended = true;
    this.emit('close');
  }
}

function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = 0x80 | opcode;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** parseFrame reads one frame from the front of b, or undefined when b holds only part of one. */
export function parseFrame(b: Buffer): { fin: boolean; opcode: number; payload: Buffer; size: number } | undefined {
  if (b.length < 2) return undefined;
  const fin = (b[0]! & 0x80) !== 0;
  const opcode = b[0]! & 0x0f;
  const masked = (b[1]! & 0x80) !== 0;
  let length = b[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (b.length < 4) return undefined;
    length = b.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (b.length < 10) return undefined;
    length = Number(b.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (b.length < offset + length) return undefined;
  const payload = Buffer.from(b.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskOffset + (i % 4)]!;
  return { fin, opcode, payload, size: offset + length };
}

/** isWebSocketRequest is whether req asks to upgrade to WebSocket. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket' && typeof req.headers['sec-websocket-key'] === 'string';
}

/**
 * acceptWebSocket completes the handshake with the first of the client's
 * subprotocols that `supported` lists; undefined (and a 400 answer) when
 * there is none in common.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, supported: readonly string[]): WebSocketConn | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const protocol = offered.find((p) => supported.includes(p));
  if (!protocol) {
    const body = `none of the offered subprotocols (${offered.join(', ') || 'none'}) is supported (${supported.join(', ')})`;
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return undefined;
  }
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  return new WebSocketConn(socket, protocol, head);
}
