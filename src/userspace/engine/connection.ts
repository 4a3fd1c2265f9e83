import {
  EAGAIN, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, MSG_NOSIGNAL, SHUT_WR, SPLICE_F_MOVE, SPLICE_F_NONBLOCK, errno, libc, nativeBlock,
  resetOnClose,
} from './libc.ts';
import { closeFd } from './ledger.ts';
import type { PipePool, Pipe } from './pipe-pool.ts';

/**
 * Reads go through one scratch buffer of this size; a read that fills it
 * marks the flow as bulk, and bulk flows move to splice(2) (below).
 */
const COPY_BYTES = 16 * 1024;
/** Largest splice from a socket into a flow's pipe (the pipe's size bounds it too). */
const SPLICE_BYTES = 1024 * 1024;
/** Read/write steps one flow gets before others are served (a bulk flow must not starve the rest). */
const PUMP_ROUNDS = 16;

const sys = libc();
const HANGUP = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const scratch = nativeBlock(COPY_BYTES);
const scratchAt = Number(scratch.address);

/** ConnectionOwner is the event loop a connection reports to. */
export interface ConnectionOwner {
  /** later runs flow again after this round of events: it used its steps and has more to do. */
  later(conn: Connection, flow: Flow): void;
  /** closed: both sockets are closed and their numbers may be reused. */
  closed(conn: Connection): void;
}

/**
 * Flow is one direction of a proxied connection. Small reads are copied
 * (recv into the scratch buffer, send at once: two system calls, as
 * HAProxy's default); a flow whose reads fill the buffer moves to a pipe of
 * its own and splice(2), so bulk bytes never enter this process. At most
 * one buffer or pipe of bytes is held per direction: while they cannot be
 * written nothing more is read, and TCP's window pushes back on the sender.
 */
export class Flow {
  readonly from: number;
  readonly to: number;
  /** Bytes read and not yet written (in `held` or in `pipe`). */
  pending = 0;
  held: Buffer | undefined;
  pipe: Pipe | undefined;
  readable = true;
  writable = true;
  /** The peer's FIN or an error was signalled: read until EOF or EAGAIN, never stop at a short read. */
  hangup = false;
  /**
   * Urgent data (MSG_OOB) arrived: reads stop short at its mark, and splice
   * stops there for good, so this flow copies and reads until EAGAIN from
   * now on. The urgent byte itself is dropped, as upstream's io.Copy did.
   */
  urgent = false;
  eof = false;
  shut = false;
  bulk = false;

  constructor(from: number, to: number) {
    this.from = from;
    this.to = to;
  }
}

/**
 * Connection is a client socket and its backend socket, piped both ways
 * (non-blocking, driven by edge-triggered epoll events; both sockets are
 * watched for EPOLLIN and EPOLLOUT from the start, so no epoll_ctl is made
 * per blocked write). A FIN from one side
 * is passed on as shutdown(SHUT_WR) once that direction is drained, while
 * the other direction keeps flowing (half-close); an error on either side
 * resets both.
 */
export class Connection {
  readonly client: number;
  readonly backend: number;
  readonly serviceKey: string;
  readonly endpoint: string;
  readonly up: Flow;
  readonly down: Flow;
  private readonly owner: ConnectionOwner;
  private readonly pipes: PipePool;
  private done = false;

  constructor(client: number, backend: number, serviceKey: string, endpoint: string, owner: ConnectionOwner, pipes: PipePool) {
    this.client = client;
    this.backend = backend;
    this.serviceKey = serviceKey;
    this.endpoint = endpoint;
    this.owner = owner;
    this.pipes = pipes;
    this.up = new Flow(client, backend);
    this.down = new Flow(backend, client);
  }

  get closed(): boolean {
    return this.done;
  }

  /**
   * start moves whatever either side sent while the backend was being
   * dialled. `backendEvents` is the backend's first event: a backend that
   * wrote and closed at once has its FIN in it, and no later edge will come.
   */
  start(backendEvents: number): void {
    this.down.hangup = (backendEvents & HANGUP) !== 0;
    this.pump(this.up);
    if (!this.done) this.pump(this.down);
  }

  onEvent(fd: number, events: number): void {
    const incoming = fd === this.client ? this.up : this.down;
    const outgoing = fd === this.client ? this.down : this.up;
    if (events & (EPOLLIN | EPOLLPRI | HANGUP)) {
      incoming.readable = true;
      if (events & HANGUP) incoming.hangup = true;
      if (events & EPOLLPRI) incoming.urgent = true;
      this.pump(incoming);
    }
    if (!this.done && events & (EPOLLOUT | EPOLLHUP | EPOLLERR) && outgoing.pending > 0) {
      outgoing.writable = true;
      this.pump(outgoing);
    }
  }

  /** pump moves bytes of one flow until it would block, is done, or has used its rounds. */
  pump(f: Flow): void {
    for (let round = 0; round < PUMP_ROUNDS; round++) {
      if (this.done || !this.step(f)) return;
    }
    this.owner.later(this, f);
  }

  /** close ends both sides now (the engine is stopping). */
  close(): void {
    if (this.done) return;
    this.done = true;
    closeFd(this.client);
    closeFd(this.backend);
    for (const f of [this.up, this.down]) if (f.pipe) this.pipes.release(f.pipe, f.pending === 0);
    this.owner.closed(this);
  }

  /** step does one write or one read of f; false when there is nothing more to do now. */
  private step(f: Flow): boolean {
    if (f.pending > 0) return f.writable && this.write(f);
    if (f.eof) {
      this.finish(f);
      return false;
    }
    if (!f.readable) return false;
    if (f.urgent && f.pipe) {
      this.pipes.release(f.pipe, true);
      f.pipe = undefined;
    }
    if (f.bulk && !f.pipe && !f.urgent) f.pipe = this.pipes.acquire();
    f.bulk = f.pipe !== undefined;
    return f.pipe ? this.spliceIn(f, f.pipe) : this.copy(f);
  }

  /** write sends held bytes or the pipe's contents. */
  private write(f: Flow): boolean {
    const n = f.pipe
      ? sys.splice(f.pipe.read, null, f.to, null, f.pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
      : sys.send(f.to, f.held!, f.pending, MSG_NOSIGNAL);
    if (n < 0) return this.blockedOrFailed(f);
    f.pending -= n;
    if (!f.pipe) f.held = f.pending > 0 ? f.held!.subarray(n) : undefined;
    return true;
  }

  /** copy reads into the scratch buffer and sends at once; what does not fit is held. */
  private copy(f: Flow): boolean {
    const n = sys.recvAt(f.from, scratchAt, COPY_BYTES, 0);
    if (n <= 0) return this.readEnded(f, n);
    if (n === COPY_BYTES) f.bulk = true;
    // Under EPOLLET a short read means the socket was drained: data arriving later raises a new edge.
    else if (!f.hangup && !f.urgent) f.readable = false;
    let sent = sys.sendAt(f.to, scratchAt, n, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno() !== EAGAIN) return this.fail();
      sent = 0;
    }
    if (sent === n) return f.readable;
    f.held = Buffer.from(scratch.buf.subarray(sent, n));
    f.pending = n - sent;
    f.writable = false;
    return false;
  }

  private spliceIn(f: Flow, pipe: Pipe): boolean {
    // The pipe is empty here (pending is 0), so EAGAIN means the socket is.
    const n = sys.splice(f.from, null, pipe.write, null, SPLICE_BYTES, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n <= 0) return this.readEnded(f, n);
    f.pending = n;
    return true;
  }

  private readEnded(f: Flow, n: number): boolean {
    if (n === 0) {
      f.eof = true;
      return true;
    }
    if (errno() === EAGAIN) {
      f.readable = false;
      return false;
    }
    return this.fail();
  }

  private blockedOrFailed(f: Flow): boolean {
    if (errno() !== EAGAIN) return this.fail();
    f.writable = false;
    return false;
  }

  /** finish passes the FIN on; the second direction to finish closes the connection (close sends that FIN). */
  private finish(f: Flow): void {
    if (f.shut) return;
    f.shut = true;
    if (this.up.shut && this.down.shut) this.close();
    else sys.shutdown(f.to, SHUT_WR);
  }

  /** fail resets both sides: a peer must not take a broken connection for one that ended cleanly. */
  private fail(): boolean {
    resetOnClose(this.client);
    resetOnClose(this.backend);
    this.close();
    return false;
  }
}
