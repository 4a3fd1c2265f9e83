/**
 * Entry point of an engine thread: one epoll loop that accepts from the
 * service listeners it was given, dials endpoints and moves bytes, all
 * through system calls (./libc.ts), never through Node's event loop, which
 * this thread does not run while the loop does. See ./engine.ts.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ConnectionCounts } from '../connection-counts.ts';
import { RoundRobin } from '../load-balancer.ts';
import { Connection, type ConnectionOwner, type Flow } from './connection.ts';
import { DeadlineQueue } from './deadlines.ts';
import { closeFd, own, useLedger } from './ledger.ts';
import { Dialer, type Dial } from './dialer.ts';
import {
  EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_DATA_OFFSET, EPOLL_EVENT_SIZE,
  EAGAIN, SOCK_CLOEXEC, SOCK_NONBLOCK, errno, libc, nativeBlock, sockaddrInHost,
} from './libc.ts';
import { PipePool } from './pipe-pool.ts';
import type { EngineReport, EngineThreadData, FromEngine, ToEngine } from './protocol.ts';

const sys = libc();
/** Connections accepted per listener event before other events are served. */
const ACCEPT_BATCH = 64;
const MAX_EVENTS = 256;
/** Counters are reported at most this often, and only when something changed. */
const REPORT_INTERVAL_MS = 100;
/**
 * A listener whose accept failed for want of descriptors (EMFILE, ENFILE,
 * ENOBUFS) is set aside this long: it stays readable, and level-triggered
 * epoll would otherwise spin on it.
 */
const ACCEPT_PAUSE_MS = 100;
/** EMFILE, ENFILE, ENOBUFS, ENOMEM. */
const OUT_OF_DESCRIPTORS = new Set([24, 23, 105, 12]);
/**
 * Longest wait in epoll_wait: Worker.terminate() stops a thread only when it
 * runs JavaScript, so an idle thread must return to it now and then.
 */
const IDLE_WAKE_MS = 1000;
const STREAM = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET;

/** Listener is one service port's listening socket as this thread accepts from it. */
class Listener {
  readonly key: string;
  readonly fd: number;
  readonly lb = new RoundRobin();

  constructor(key: string, fd: number) {
    this.key = key;
    this.fd = fd;
  }
}

class EngineLoop implements ConnectionOwner {
  private readonly data: EngineThreadData;
  private readonly epfd = epollCreate();
  private readonly event = nativeBlock(EPOLL_EVENT_SIZE);
  private readonly eventAt = Number(this.event.address);
  private readonly events = nativeBlock(EPOLL_EVENT_SIZE * MAX_EVENTS);
  private readonly eventsAt = Number(this.events.address);
  private readonly peer = Buffer.alloc(16);
  private readonly peerLen = Buffer.alloc(4);
  private readonly wakeBuf = Buffer.alloc(8);
  private readonly listeners = new Map<string, Listener>();
  /** What each descriptor belongs to, by number. */
  private readonly owners: Array<Listener | Dial | Connection | undefined> = [];
  /**
   * Registration count of each descriptor number, carried in the upper half
   * of epoll_data: an event still queued for a socket closed earlier in the
   * same batch must not reach the new socket that reused its number.
   */
  private readonly generations: number[] = [];
  private readonly pipes = new PipePool();
  private readonly dialer: Dialer;
  private readonly pausedListeners = new DeadlineQueue<Listener>(ACCEPT_PAUSE_MS);
  private pumpLater: Array<[Connection, Flow]> = [];
  private readonly counts = new ConnectionCounts();
  private tallies = newTallies();
  private dirty = false;
  private lastReport = 0;
  private running = true;
  /** Monotonic (performance.now()): deadlines must not move with the wall clock. */
  private now = performance.now();

  constructor(data: EngineThreadData) {
    this.data = data;
    this.dialer = new Dialer({
      connecting: (dial) => {
        this.owners[dial.backend] = dial;
        // Unwatched, the dial would wait for its timeout; the next attempt gets a fresh socket.
        if (!this.ctl(EPOLL_CTL_ADD, dial.backend, STREAM)) this.dialer.ready(dial, EPOLLERR, this.now);
      },
      connected: (dial, events) => this.connected(dial, events),
      failed: (dial, gaveUp) => {
        if (dial.backend >= 0) this.owners[dial.backend] = undefined;
        this.tally(this.tallies.dialFailures, dial.serviceKey);
        if (gaveUp) closeFd(dial.client);
      },
      noEndpoint: (dial) => {
        this.tally(this.tallies.noEndpoint, dial.serviceKey);
        closeFd(dial.client);
      },
    });
    this.ctl(EPOLL_CTL_ADD, data.wakeFd, EPOLLIN);
  }

  run(): void {
    while (this.running) {
      const n = sys.epoll_wait(this.epfd, this.eventsAt, MAX_EVENTS, this.timeout());
      this.now = performance.now();
      for (let i = 0; i < n; i++) {
        const at = i * EPOLL_EVENT_SIZE;
        const fd = this.events.buf.readInt32LE(at + EPOLL_DATA_OFFSET);
        if (this.events.buf.readUInt32LE(at + EPOLL_DATA_OFFSET + 4) !== this.generations[fd]) continue;
        this.guarded(fd, this.events.buf.readUInt32LE(at));
      }
      try {
        this.runLater();
        this.dialer.expire(this.now);
        this.pausedListeners.expire(this.now, this.resumeListener);
        if (this.dirty && this.now - this.lastReport >= REPORT_INTERVAL_MS) this.report();
      } catch (err) {
        this.postError(err);
      }
    }
    this.shutdown();
  }

  /**
   * guarded dispatches one event; an exception is reported and ends only the
   * connection it came from, never the rest of the batch (its edges would be lost).
   */
  private guarded(fd: number, events: number): void {
    try {
      this.dispatch(fd, events);
    } catch (err) {
      const owner = this.owners[fd];
      if (owner instanceof Connection) owner.close();
      this.postError(err);
    }
  }

  later(conn: Connection, flow: Flow): void {
    this.pumpLater.push([conn, flow]);
  }

  closed(conn: Connection): void {
    this.owners[conn.client] = undefined;
    this.owners[conn.backend] = undefined;
    this.counts.closed(conn.endpoint);
    this.dirty = true;
  }

  private timeout(): number {
    if (this.pumpLater.length > 0) return 0;
    const until = Math.min(this.dialer.nextDeadline(), this.pausedListeners.next(), this.dirty ? this.lastReport + REPORT_INTERVAL_MS : Infinity);
    const now = performance.now();
    return Math.ceil(Math.max(0, Math.min(until, now + IDLE_WAKE_MS) - now));
  }

  private dispatch(fd: number, events: number): void {
    if (fd === this.data.wakeFd) return this.receive();
    const owner = this.owners[fd];
    if (owner instanceof Connection) owner.onEvent(fd, events);
    else if (owner instanceof Listener) this.accept(owner);
    else if (owner) this.dialer.ready(owner, events, this.now);
  }

  private accept(l: Listener): void {
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      // The client's address is only asked for when affinity needs it.
      const pinned = l.lb.pinsClients;
      this.peerLen.writeUInt32LE(16, 0);
      const client = own(sys.accept4(l.fd, pinned ? this.peer : null, pinned ? this.peerLen : null, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (client < 0) {
        const err = errno();
        if (err === EAGAIN) return;
        if (OUT_OF_DESCRIPTORS.has(err)) return this.pauseListener(l, err);
        // Anything else (ECONNABORTED: the client reset first) concerns that client only.
        continue;
      }
      this.tally(this.tallies.accepted, l.key);
      const clientIP = pinned ? sockaddrInHost(this.peer) : '';
      this.dialer.start({ client, clientIP, serviceKey: l.key, lb: l.lb, attempt: 0, backend: -1, endpoint: '' }, this.now);
    }
  }

  private connected(dial: Dial, backendEvents: number): void {
    const conn = new Connection(dial.client, dial.backend, dial.serviceKey, dial.endpoint, this, this.pipes);
    this.owners[dial.client] = conn;
    this.owners[dial.backend] = conn;
    this.counts.opened(dial.endpoint);
    this.dirty = true;
    if (!this.ctl(EPOLL_CTL_ADD, dial.client, STREAM)) return conn.close();
    conn.start(backendEvents);
  }

  private runLater(): void {
    if (this.pumpLater.length === 0) return;
    const due = this.pumpLater;
    this.pumpLater = [];
    for (const [conn, flow] of due) {
      if (conn.closed) continue;
      try {
        conn.pump(flow);
      } catch (err) {
        conn.close();
        this.postError(err);
      }
    }
  }

  private receive(): void {
    sys.read(this.data.wakeFd, this.wakeBuf, 8);
    for (let m = receiveMessageOnPort(this.data.port); m; m = receiveMessageOnPort(this.data.port)) this.handle(m.message as ToEngine);
  }

  private handle(msg: ToEngine): void {
    switch (msg.type) {
      case 'listen': {
        const l = new Listener(msg.key, msg.fd);
        this.configure(l.lb, msg.endpoints, msg.affinityMs);
        this.listeners.set(msg.key, l);
        this.watchListener(l);
        return;
      }
      case 'update': {
        const l = this.listeners.get(msg.key);
        if (l) this.configure(l.lb, msg.endpoints, msg.affinityMs);
        return;
      }
      case 'unlisten': {
        const l = this.listeners.get(msg.key);
        if (l) {
          this.listeners.delete(msg.key);
          if (this.owners[l.fd] === l) this.unwatchListener(l);
        }
        this.post({ type: 'released', key: msg.key });
        return;
      }
      case 'stop':
        this.running = false;
        return;
    }
  }

  private watchListener(l: Listener): void {
    this.owners[l.fd] = l;
    // EPOLLEXCLUSIVE: a connection wakes one of the threads sharing the socket, not all.
    if (!this.ctl(EPOLL_CTL_ADD, l.fd, EPOLLIN | EPOLLEXCLUSIVE)) this.pauseListener(l, errno());
  }

  private unwatchListener(l: Listener): void {
    this.owners[l.fd] = undefined;
    this.ctl(EPOLL_CTL_DEL, l.fd, 0);
  }

  private readonly resumeListener = (l: Listener): void => {
    if (this.listeners.get(l.key) === l) this.watchListener(l);
  };

  private pauseListener(l: Listener, err: number): void {
    this.unwatchListener(l);
    this.pausedListeners.add(l, this.now);
    this.post({ type: 'error', message: `accept on ${l.key}: errno ${err}, paused for ${ACCEPT_PAUSE_MS} ms` });
  }

  private configure(lb: RoundRobin, endpoints: readonly string[], affinityMs: number): void {
    lb.setEndpoints(endpoints);
    lb.setAffinity(affinityMs);
    lb.expireAffinity();
  }

  /** ctl changes what epoll watches of fd; false when the kernel refused (ENOMEM, max_user_watches). */
  private ctl(op: number, fd: number, events: number): boolean {
    if (op === EPOLL_CTL_ADD) this.generations[fd] = ((this.generations[fd] ?? 0) + 1) >>> 0;
    this.event.buf.writeUInt32LE(events >>> 0, 0);
    this.event.buf.writeInt32LE(fd, EPOLL_DATA_OFFSET);
    this.event.buf.writeUInt32LE(this.generations[fd] ?? 0, EPOLL_DATA_OFFSET + 4);
    return sys.epoll_ctl(this.epfd, op, fd, this.eventAt) === 0;
  }

  private tally(table: Record<string, number>, key: string): void {
    table[key] = (table[key] ?? 0) + 1;
    this.dirty = true;
  }

  private report(): void {
    const report: EngineReport = { type: 'report', ...this.tallies, open: Object.fromEntries(this.counts.entries()) };
    this.tallies = newTallies();
    this.dirty = false;
    this.lastReport = this.now;
    this.post(report);
  }

  private postError(err: unknown): void {
    this.post({ type: 'error', message: (err as Error).stack ?? String(err) });
  }

  private post(msg: FromEngine): void {
    this.data.port.postMessage(msg);
  }

  /**
   * shutdown closes every proxied connection, every dial and this thread's
   * descriptors (listeners are the main thread's). `owners` holds them all.
   */
  private shutdown(): void {
    for (const owner of this.owners) {
      if (owner === undefined || owner instanceof Listener) continue;
      if (owner instanceof Connection) {
        owner.close();
        continue;
      }
      closeFd(owner.backend);
      closeFd(owner.client);
    }
    this.pipes.close();
    this.report();
    closeFd(this.epfd);
    this.data.port.close();
  }
}

function epollCreate(): number {
  const fd = own(sys.epoll_create1(SOCK_CLOEXEC));
  // Thrown at start: the thread exits and the engine starts it again.
  if (fd < 0) throw new Error(`epoll_create1: errno ${errno()}`);
  return fd;
}

function newTallies(): Pick<EngineReport, 'accepted' | 'dialFailures' | 'noEndpoint'> {
  return { accepted: {}, dialFailures: {}, noEndpoint: {} };
}

useLedger((workerData as EngineThreadData).ledger);
new EngineLoop(workerData as EngineThreadData).run();
