import koffi from 'koffi';
import { NetlinkError, NetlinkSocketError, NetlinkTimeoutError } from './errors.ts';
import { NLM_F_ACK, NLMSG_DONE, NLMSG_ERROR, parseErrorReply, parseMessages, type NetlinkMessage } from './codec.ts';

export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;
export const NETLINK_NETFILTER = 12;

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const EINTR = 4;
const EAGAIN = 11;

/** Socket buffers large enough for a batch's error replies (root may force them past rmem_max). */
const BUFFER_BYTES = 8 << 20;
/** A batch is sent in chunks of at most this many bytes and messages, then its replies are read. */
const CHUNK_BYTES = 128 << 10;
const CHUNK_MESSAGES = 1024;
const RECV_BYTES = 256 << 10;
const DEFAULT_TIMEOUT_MS = 10_000;

const libc = koffi.load('libc.so.6');
const sys = {
  socket: libc.func('int socket(int, int, int)'),
  bind: libc.func('int bind(int, const void *, uint32_t)'),
  setsockopt: libc.func('int setsockopt(int, int, int, const void *, uint32_t)'),
  send: libc.func('intptr_t send(int, const void *, size_t, int)'),
  recv: libc.func('intptr_t recv(int, void *, size_t, int)'),
  close: libc.func('int close(int)'),
  poll: libc.func('int poll(void *, unsigned long, int)'),
};

/** Request is one encoded message (sequence 0) and how to name it in an error. */
export interface Request {
  readonly message: Buffer;
  readonly describe: () => string;
}

function intOption(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

/**
 * NetlinkSocket is one non-blocking netlink socket to the kernel. Calls are
 * serialised (one request or batch at a time). The kernel handles a request
 * inside send(), so its replies are normally queued by the time recv() runs;
 * when they are not (a dump continuing, a slow subsystem), the socket waits
 * for readability with poll() on koffi's worker pool, never on the event loop.
 */
export class NetlinkSocket {
  private readonly fd: number;
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private readonly rx = Buffer.alloc(RECV_BYTES);
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** open creates and binds a netlink socket of the given protocol (NETLINK_ROUTE, NETLINK_GENERIC). */
  static open(protocol: number): NetlinkSocket {
    const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol) as number;
    if (fd < 0) throw new NetlinkSocketError('socket', koffi.errno());
    const sock = new NetlinkSocket(fd);
    try {
      sock.setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      sock.setOption(SOL_NETLINK, NETLINK_CAP_ACK, 1);
      if (!sock.trySetOption(SOL_SOCKET, SO_RCVBUFFORCE, BUFFER_BYTES)) sock.setOption(SOL_SOCKET, SO_RCVBUF, BUFFER_BYTES);
      if (!sock.trySetOption(SOL_SOCKET, SO_SNDBUFFORCE, BUFFER_BYTES)) sock.setOption(SOL_SOCKET, SO_SNDBUF, BUFFER_BYTES);
      const addr = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
      addr.writeUInt16LE(AF_NETLINK, 0);
      if ((sys.bind(fd, addr, addr.length) as number) < 0) throw new NetlinkSocketError('bind', koffi.errno());
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    return sock;
  }

  private trySetOption(level: number, name: number, value: number): boolean {
    const v = intOption(value);
    return (sys.setsockopt(this.fd, level, name, v, 4) as number) === 0;
  }

  private setOption(level: number, name: number, value: number): void {
    if (!this.trySetOption(level, name, value)) throw new NetlinkSocketError('setsockopt', koffi.errno());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.close(this.fd);
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * request sends one message (which must ask for an ACK or a dump) and
   * resolves to the data messages of its reply, after the final ACK or
   * NLMSG_DONE; a negative error becomes a NetlinkError.
   */
  request(req: Request, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<NetlinkMessage[]> {
    return this.serialise(async () => {
      const msg = Buffer.from(req.message);
      const seq = this.nextSeq();
      msg.writeUInt32LE(seq, 8);
      await this.sendAll(msg, timeoutMs);
      const data: NetlinkMessage[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const m of await this.receive(deadline, timeoutMs, req.describe)) {
          if (m.seq !== seq) continue; // a reply to an earlier request that timed out
          if (m.type === NLMSG_ERROR) {
            const { error, extAck } = parseErrorReply(m);
            if (error !== 0) throw new NetlinkError(-error, req.describe(), extAck);
            return data;
          }
          if (m.type === NLMSG_DONE) {
            const error = m.body.length >= 4 ? m.body.readInt32LE(0) : 0;
            if (error < 0) throw new NetlinkError(-error, req.describe());
            return data;
          }
          data.push(m);
        }
      }
    });
  }

  /**
   * batch sends many requests (no dumps) with few system calls: messages are
   * packed into chunks, one send() each, and only the last message of a chunk
   * asks for an ACK, since the kernel always reports errors and handles a
   * chunk's messages in order. Resolves to one entry per request: undefined
   * when it succeeded, its NetlinkError when it failed.
   */
  batch(reqs: readonly Request[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Array<NetlinkError | undefined>> {
    return this.serialise(async () => {
      const results = new Array<NetlinkError | undefined>(reqs.length).fill(undefined);
      for (let start = 0; start < reqs.length; ) {
        let end = start;
        let bytes = 0;
        while (end < reqs.length && end - start < CHUNK_MESSAGES && (end === start || bytes + reqs[end]!.message.length <= CHUNK_BYTES)) {
          bytes += reqs[end]!.message.length;
          end++;
        }
        await this.sendChunk(reqs, start, end, bytes, results, timeoutMs);
        start = end;
      }
      return results;
    });
  }

  /**
   * sendTogether sends messages in one datagram, as an nfnetlink batch must
   * arrive (its begin and end markers around the commands), and resolves to
   * the reply of each message that asked for an ACK: undefined for success,
   * its NetlinkError otherwise. Messages without NLM_F_ACK get no entry.
   */
  sendTogether(messages: readonly Buffer[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Array<NetlinkError | undefined>> {
    return this.serialise(async () => {
      const buf = Buffer.concat(messages);
      const waiting = new Map<number, number>();
      let off = 0;
      for (const m of messages) {
        const seq = this.nextSeq();
        buf.writeUInt32LE(seq, off + 8);
        if (buf.readUInt16LE(off + 6) & NLM_F_ACK) waiting.set(seq, waiting.size);
        off += m.length;
      }
      const results = new Array<NetlinkError | undefined>(waiting.size).fill(undefined);
      await this.sendAll(buf, timeoutMs);
      const deadline = Date.now() + timeoutMs;
      while (waiting.size > 0) {
        for (const m of await this.receive(deadline, timeoutMs, () => `${messages.length} messages sent together`)) {
          const index = waiting.get(m.seq);
          if (m.type !== NLMSG_ERROR || index === undefined) continue;
          waiting.delete(m.seq);
          const { error, extAck } = parseErrorReply(m);
          if (error !== 0) results[index] = new NetlinkError(-error, `message ${index + 1} of ${results.length}`, extAck);
        }
      }
      return results;
    });
  }

  private async sendChunk(
    reqs: readonly Request[],
    start: number,
    end: number,
    bytes: number,
    results: Array<NetlinkError | undefined>,
    timeoutMs: number,
  ): Promise<void> {
    const buf = Buffer.allocUnsafe(bytes);
    const firstSeq = this.seq + 1;
    let off = 0;
    for (let i = start; i < end; i++) {
      const m = reqs[i]!.message;
      m.copy(buf, off);
      buf.writeUInt32LE(this.nextSeq(), off + 8);
      const flags = buf.readUInt16LE(off + 6);
      buf.writeUInt16LE(i === end - 1 ? flags | NLM_F_ACK : flags & ~NLM_F_ACK, off + 6);
      off += m.length;
    }
    const lastSeq = this.seq;
    await this.sendAll(buf, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of await this.receive(deadline, timeoutMs, () => `batch of ${end - start} requests`)) {
        if (m.type !== NLMSG_ERROR) continue;
        const index = start + ((m.seq - firstSeq) >>> 0);
        if (index < start || index >= end) continue;
        const { error, extAck } = parseErrorReply(m);
        if (error !== 0) results[index] = new NetlinkError(-error, reqs[index]!.describe(), extAck);
        if (m.seq === lastSeq) return;
      }
    }
  }

  private async sendAll(buf: Buffer, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closed) throw new NetlinkSocketError('send', 9 /* EBADF */);
      const n = sys.send(this.fd, buf, buf.length, MSG_DONTWAIT) as number;
      if (n >= 0) return;
      const errno = koffi.errno();
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) throw new NetlinkSocketError('send', errno);
      if (!(await this.wait(POLLOUT, deadline))) throw new NetlinkTimeoutError('netlink send', timeoutMs);
    }
  }

  /** receive reads one datagram, waiting (off the event loop) until the deadline. */
  private async receive(deadline: number, timeoutMs: number, describe: () => string): Promise<NetlinkMessage[]> {
    for (;;) {
      if (this.closed) throw new NetlinkSocketError('recv', 9 /* EBADF */);
      const n = sys.recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT | MSG_TRUNC) as number;
      if (n > this.rx.length) throw new NetlinkSocketError('recv (datagram larger than the receive buffer)', 90 /* EMSGSIZE */);
      if (n >= 0) return parseMessages(Buffer.from(this.rx.subarray(0, n)));
      const errno = koffi.errno();
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) throw new NetlinkSocketError('recv', errno);
      if (!(await this.wait(POLLIN, deadline))) throw new NetlinkTimeoutError(describe(), timeoutMs);
    }
  }

  /** wait polls for the event on koffi's worker thread; false once the deadline passed. */
  private async wait(events: number, deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(this.fd, 0);
    pfd.writeInt16LE(events, 4);
    await new Promise<void>((resolve, reject) => {
      sys.poll.async(pfd, 1, Math.min(left, 1000), (err: unknown) => (err ? reject(err) : resolve()));
    });
    return true;
  }
}
