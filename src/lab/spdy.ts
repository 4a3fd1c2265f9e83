import { EventEmitter } from 'node:events';
import { constants, createInflate, type Inflate } from 'node:zlib';
import { adler32, SPDY_DICTIONARY } from './spdy-dictionary.ts';

/**
 * The server side of SPDY/3.1 as kubectl's streaming clients use it (the
 * moby/spdystream framer client-go links): the client opens every stream
 * with SYN_STREAM and a header block naming it (`streamtype`, `port`), the
 * server accepts each with SYN_REPLY, both send DATA frames and end their
 * half with FLAG_FIN. Header blocks are zlib-compressed with the SPDY/3
 * dictionary on one zlib stream per direction; the replies here are written
 * as stored (uncompressed) deflate blocks, which any inflater reads. No flow
 * control is enforced on either side, as spdystream enforces none.
 */

const VERSION = 3;
const TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goaway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;

/** Transport is the byte stream a session runs over: an upgraded socket, or WebSocket messages. */
export interface Transport {
  write(b: Buffer): void;
  end(): void;
  onData(cb: (b: Buffer) => void): void;
  onClose(cb: () => void): void;
}

export class SpdyStream extends EventEmitter<{ data: [Buffer]; end: []; reset: [] }> {
  readonly id: number;
  readonly headers: Readonly<Record<string, string>>;
  private readonly session: SpdySession;
  private finSent = false;
  remoteEnded = false;

  constructor(session: SpdySession, id: number, headers: Record<string, string>) {
    super();
    this.session = session;
    this.id = id;
    this.headers = headers;
  }

  write(data: Buffer): void {
    if (this.finSent) return;
    for (let at = 0; at < data.length; at += 0xffff) this.session.sendData(this.id, data.subarray(at, at + 0xffff), 0);
  }

  /** end closes this side of the stream (FLAG_FIN). */
  end(data?: Buffer): void {
    if (data && data.length > 0) this.write(data);
    if (this.finSent) return;
    this.finSent = true;
    this.session.sendData(this.id, Buffer.alloc(0), FLAG_FIN);
  }
}

export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [] }> {
  private readonly transport: Transport;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate: Inflate;
  private inflated: Buffer[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  /** Frames are handled in order; header blocks need the (asynchronous) inflater. */
  private handling: Promise<void> = Promise.resolve();
  private headerStreamStarted = false;
  private closed = false;
  private ended = false;

  constructor(transport: Transport) {
    super();
    this.transport = transport;
    this.inflate = createInflate({ dictionary: SPDY_DICTIONARY });
    this.inflate.on('data', (b: Buffer) => this.inflated.push(b));
    this.inflate.on('error', () => this.close());
    transport.onData((b) => this.receive(b));
    transport.onClose(() => this.finish());
  }

  private receive(b: Buffer): void {
    this.buffered = this.buffered.length === 0 ? b : Buffer.concat([this.buffered, b]);
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (this.buffered.length < 8 + length) return;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.handling = this.handling.then(() => this.onFrame(frame)).catch(() => this.close());
    }
  }

  private async onFrame(f: Buffer): Promise<void> {
    const flags = f[4]!;
    const body = f.subarray(8);
    if ((f[0]! & 0x80) === 0) return this.onData(f.readUInt32BE(0) & 0x7fffffff, flags, body);
    const type = f.readUInt16BE(2);
    switch (type) {
      case TYPE.synStream: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const stream = new SpdyStream(this, id, await this.headerBlock(body.subarray(10)));
        this.streams.set(id, stream);
        this.sendControl(TYPE.synReply, 0, Buffer.concat([u32(id), this.encodeHeaders({})]));
        this.emit('stream', stream);
        if (flags & FLAG_FIN) this.remoteEnd(stream);
        return;
      }
      case TYPE.headers:
        await this.headerBlock(body.subarray(4));
        return;
      case TYPE.rstStream: {
        const stream = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
        stream?.emit('reset');
        return;
      }
      case TYPE.ping:
        return this.transport.write(f);
      case TYPE.goaway:
        return this.close();
      default:
        // SETTINGS, WINDOW_UPDATE: nothing to do without flow control.
        return;
    }
  }

  private onData(id: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    if (data.length > 0) stream.emit('data', Buffer.from(data));
    if (flags & FLAG_FIN) this.remoteEnd(stream);
  }

  private remoteEnd(stream: SpdyStream): void {
    if (stream.remoteEnded) return;
    stream.remoteEnded = true;
    stream.emit('end');
  }

  /** headerBlock inflates one header block on the connection's zlib stream and parses its name/value pairs. */
  private headerBlock(compressed: Buffer): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      this.inflate.write(compressed);
      this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
        const raw = Buffer.concat(this.inflated);
        this.inflated = [];
        try {
          resolve(parseHeaders(raw));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /** encodeHeaders writes a header block as a stored deflate block on this side's zlib stream. */
  private encodeHeaders(headers: Record<string, string>): Buffer {
    const parts: Buffer[] = [u32(Object.keys(headers).length)];
    for (const [name, value] of Object.entries(headers)) parts.push(u32(name.length), Buffer.from(name), u32(Buffer.byteLength(value)), Buffer.from(value));
    const raw = Buffer.concat(parts);
    const stored = Buffer.alloc(5);
    stored[0] = 0; // BFINAL 0, BTYPE 00 (stored), padded to the byte boundary
    stored.writeUInt16LE(raw.length, 1);
    stored.writeUInt16LE(~raw.length & 0xffff, 3);
    // The empty stored block after it is zlib's sync-flush marker: inflaters hand out the block's data on seeing it.
    const out: Buffer[] = [stored, raw, Buffer.from([0, 0, 0, 0xff, 0xff])];
    if (!this.headerStreamStarted) {
      this.headerStreamStarted = true;
      // zlib header: deflate, 32K window, FDICT set, check bits making it a multiple of 31; then the dictionary's id.
      const cmf = 0x78;
      let flg = 0x20;
      flg += 31 - ((cmf * 256 + flg) % 31);
      out.unshift(Buffer.from([cmf, flg]), u32(adler32(SPDY_DICTIONARY)));
    }
    return Buffer.concat(out);
  }

  private sendControl(type: number, flags: number, body: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8000 | VERSION, 0);
    h.writeUInt16BE(type, 2);
    h[4] = flags;
    h.writeUIntBE(body.length, 5, 3);
    this.write(Buffer.concat([h, body]));
  }

  sendData(id: number, data: Buffer, flags: number): void {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h[4] = flags;
    h.writeUIntBE(data.length, 5, 3);
    this.write(Buffer.concat([h, data]));
  }

  private write(b: Buffer): void {
    if (!this.closed) this.transport.write(b);
  }

  /** close sends GOAWAY and ends the transport once the queued frames are handled. */
  close(): void {
    if (this.closed) return;
    this.sendControl(TYPE.goaway, 0, Buffer.concat([u32(0), u32(0)]));
    this.closed = true;
    this.transport.end();
    this.finish();
  }

  private finish(): void {
    this.closed = true;
    if (this.ended) return;
    this.ended = true;
    for (const s of this.streams.values()) if (!s.remoteEnded) this.remoteEnd(s);
    this.streams.clear();
    this.inflate.destroy();
    this.emit('close');
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** parseHeaders reads a SPDY/3 name/value block (several values of one name are NUL-separated; the first is kept). */
export function parseHeaders(raw: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  const count = raw.readUInt32BE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const nameLength = raw.readUInt32BE(at);
    const name = raw.subarray(at + 4, at + 4 + nameLength).toString('latin1').toLowerCase();
    at += 4 + nameLength;
    const valueLength = raw.readUInt32BE(at);
    headers[name] = raw.subarray(at + 4, at + 4 + valueLength).toString('utf8').split('\0')[0]!;
    at += 4 + valueLength;
  }
  return headers;
}
