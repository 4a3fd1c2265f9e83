import type { RoundRobin } from '../load-balancer.ts';
import { DeadlineQueue } from './deadlines.ts';
import { closeFd, own } from './ledger.ts';
import {
  AF_INET, EINPROGRESS, EPOLLERR, EPOLLHUP, EPOLLOUT, IPPROTO_TCP, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, TCP_NODELAY, errno, keepAlive, libc, sockaddrIn,
} from './libc.ts';
import { DIAL_TIMEOUTS_MS } from './protocol.ts';

const sys = libc();
const ONE = Buffer.from([1, 0, 0, 0]);

/** Dial is a client waiting for a backend connection. */
export interface Dial {
  readonly client: number;
  readonly clientIP: string;
  readonly serviceKey: string;
  readonly lb: RoundRobin;
  attempt: number;
  /** The socket being connected (-1 between attempts). */
  backend: number;
  endpoint: string;
}

/** DialEvents are what a dial tells the engine loop. */
export interface DialEvents {
  /** connecting: `dial.backend` waits for its first event (connect finished or failed). */
  connecting(dial: Dial): void;
  /** connected: `events` is the backend's first event, which may already carry its data and FIN. */
  connected(dial: Dial, events: number): void;
  /** failed: an attempt failed; the next one has started, unless `gaveUp`. */
  failed(dial: Dial, gaveUp: boolean): void;
  noEndpoint(dial: Dial): void;
}

/**
 * Dialer connects clients to endpoints as upstream's `tryConnect` did: the
 * service's balancer picks an endpoint, a failed or timed-out connect moves
 * to the next one with a longer timeout (DIAL_TIMEOUTS_MS), and after the
 * last the client is closed. The client is not read meanwhile, so what it
 * sends waits in the kernel.
 */
export class Dialer {
  private readonly events: DialEvents;
  private readonly timeouts = DIAL_TIMEOUTS_MS.map((ms) => new DeadlineQueue<{ dial: Dial; backend: number; attempt: number }>(ms));
  private readonly addresses = new Map<string, Buffer>();
  private now = 0;

  constructor(events: DialEvents) {
    this.events = events;
  }

  /** start makes the dial's next attempt (the first for a new dial). */
  start(dial: Dial, now: number): void {
    for (; dial.attempt < DIAL_TIMEOUTS_MS.length; dial.attempt++) {
      // Retries skip ClientIP affinity: a client pinned to a dead endpoint moves on.
      const endpoint = dial.lb.next(dial.clientIP, dial.attempt > 0);
      if (endpoint === undefined) {
        this.events.noEndpoint(dial);
        return;
      }
      dial.endpoint = endpoint;
      if (this.connect(dial)) {
        this.timeouts[dial.attempt]!.add({ dial, backend: dial.backend, attempt: dial.attempt }, now);
        this.events.connecting(dial);
        return;
      }
      this.events.failed(dial, dial.attempt === DIAL_TIMEOUTS_MS.length - 1);
    }
  }

  /** ready: the backend socket has an event, so its connect finished, either way (EPOLLERR/EPOLLHUP: refused or unreachable). */
  ready(dial: Dial, events: number, now: number): void {
    if (events & (EPOLLERR | EPOLLHUP)) return this.retry(dial, now);
    if (!(events & EPOLLOUT)) return;
    this.events.connected(dial, events);
    // The connection owns the socket now; a pending timeout of this attempt must find it gone.
    dial.backend = -1;
  }

  /** nextDeadline is when the earliest connect times out, or Infinity. */
  nextDeadline(): number {
    let next = Infinity;
    for (const queue of this.timeouts) next = Math.min(next, queue.next());
    return next;
  }

  /** expire fails the attempts whose timeout has passed. */
  expire(now: number): void {
    this.now = now;
    for (const queue of this.timeouts) queue.expire(now, this.onTimeout);
  }

  /** onTimeout fails an attempt still waiting for its connect (bound once: expire runs on every loop turn). */
  private readonly onTimeout = (t: { dial: Dial; backend: number; attempt: number }): void => {
    if (t.dial.backend === t.backend && t.dial.attempt === t.attempt) this.retry(t.dial, this.now);
  };

  private retry(dial: Dial, now: number): void {
    closeFd(dial.backend);
    const gaveUp = dial.attempt === DIAL_TIMEOUTS_MS.length - 1;
    this.events.failed(dial, gaveUp);
    dial.backend = -1;
    if (gaveUp) return;
    dial.attempt++;
    this.start(dial, now);
  }

  /** connect opens a non-blocking socket and starts connecting; false when that failed at once. */
  private connect(dial: Dial): boolean {
    const fd = own(sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0) return false;
    sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, 4);
    keepAlive(fd);
    if (sys.connect(fd, this.address(dial.endpoint), 16) < 0 && errno() !== EINPROGRESS) {
      closeFd(fd);
      return false;
    }
    dial.backend = fd;
    return true;
  }

  private address(endpoint: string): Buffer {
    let addr = this.addresses.get(endpoint);
    if (!addr) {
      const sep = endpoint.lastIndexOf(':');
      addr = sockaddrIn(endpoint.slice(0, sep), Number(endpoint.slice(sep + 1)));
      if (this.addresses.size > 10_000) this.addresses.clear();
      this.addresses.set(endpoint, addr);
    }
    return addr;
  }
}
