import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { createLogger } from '../../util/log.ts';
import { BUNDLED, bundlePath, repoPath } from '../../util/repo.ts';
import {
  AF_INET, IPPROTO_TCP, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SyscallError, TCP_NODELAY, errno, keepAlive, libc, sockaddrIn,
} from './libc.ts';
import { LEDGER_SIZE, closeLeftBehind } from './ledger.ts';
import type { EngineReport, EngineThreadData, FromEngine, ToEngine } from './protocol.ts';

const log = createLogger('userspace');
const ONE = Buffer.from([1, 0, 0, 0]);
const WAKE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
const BACKLOG = 4096;
/** A thread that died is started again after this long (not at once: something may kill it at every start). */
const RESTART_DELAY_MS = 500;

/**
 * defaultTcpThreads: one engine thread per core, as HAProxy's default
 * nbthread. Most of a proxied connection's CPU time is the kernel's (the
 * loop itself was ~20 % of its thread's samples under wrk), so a thread per
 * core is what lets the proxy keep up on a busy node; on the 2-core lab a
 * second thread measured +10-30 % connections per second
 * (scripts/bench/userspace, `ferry 1 thread` row).
 */
export function defaultTcpThreads(): number {
  return availableParallelism();
}

/** EngineReports receives what the engine threads count (the userspace metrics merge it). */
export interface EngineReports {
  onReport(thread: number, report: EngineReport): void;
}

/** EngineThread is the main thread's handle on one engine thread. */
interface EngineThread {
  readonly index: number;
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly wakeFd: number;
  /** Resolvers of unlisten requests, by service key, answered in order. */
  readonly releases: Map<string, Array<() => void>>;
  exited: boolean;
}

/**
 * TcpEngine proxies TCP for the userspace mode on engine threads (./thread.ts):
 * each runs an epoll loop over non-blocking sockets through libc, so a
 * connection costs its system calls and little else. The listening sockets
 * are opened here and shared: every thread given one waits on it with
 * EPOLLEXCLUSIVE and the kernel wakes one per connection. A service with
 * ClientIP affinity is given to thread 0 only, whose balancer then holds the
 * one affinity map. Threads start with the first listener; one that dies
 * (the loop catches exceptions per event, so only termination or running
 * out of memory ends one) is started again and given its listeners back.
 */
export class TcpEngine {
  private readonly size: number;
  private readonly reports: EngineReports;
  private threads: EngineThread[] = [];
  private readonly listeners = new Set<TcpListener>();
  private readonly sys = libc();

  constructor(threads: number, reports: EngineReports) {
    this.size = Math.max(1, threads);
    this.reports = reports;
  }

  /** listen opens a listening socket on host:port (0: ephemeral) for serviceKey and starts accepting. */
  listen(serviceKey: string, host: string, port: number, endpoints: readonly string[], affinityMs: number): TcpListener {
    const fd = this.openSocket(host, port);
    try {
      if (this.threads.length === 0) this.threads = this.startThreads();
    } catch (err) {
      this.sys.close(fd);
      throw err;
    }
    const listener = new TcpListener(this, serviceKey, fd, this.boundPort(fd));
    this.listeners.add(listener);
    listener.update(endpoints, affinityMs);
    return listener;
  }

  /** close stops the threads (their connections are closed), waits for them to exit, and closes the listeners left. */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await this.stopThreads(threads);
    await Promise.all([...this.listeners].map((l) => l.close()));
  }

  private async stopThreads(threads: EngineThread[]): Promise<void> {
    await Promise.all(threads.map(async (t) => {
      if (!t.exited) {
        this.send(t, { type: 'stop' });
        const exited = new Promise((resolve) => t.worker.once('exit', resolve));
        const timer = setTimeout(() => void t.worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      }
      this.sys.close(t.wakeFd);
    }));
  }

  /** @internal Threads a listener with this affinity is given to. */
  threadsFor(affinityMs: number): number[] {
    return affinityMs > 0 ? [0] : this.threads.map((t) => t.index);
  }

  /** @internal */
  send(index: number | EngineThread, msg: ToEngine): void {
    const t = typeof index === 'number' ? this.threads[index] : index;
    if (!t || t.exited) return;
    t.port.postMessage(msg);
    this.sys.write(t.wakeFd, WAKE, 8);
  }

  /** @internal release asks a thread to stop accepting from a listener; resolves once it has. */
  release(index: number, serviceKey: string): Promise<void> {
    const t = this.threads[index];
    if (!t || t.exited) return Promise.resolve();
    return new Promise((resolve) => {
      t.releases.set(serviceKey, [...(t.releases.get(serviceKey) ?? []), resolve]);
      this.send(t, { type: 'unlisten', key: serviceKey });
    });
  }

  /** @internal */
  closeSocket(listener: TcpListener, fd: number): void {
    this.listeners.delete(listener);
    this.sys.close(fd);
  }

  private openSocket(host: string, port: number): number {
    const fd = this.sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError('socket', errno());
    this.sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ONE, 4);
    // Accepted sockets inherit TCP_NODELAY (small replies are not held back by Nagle) and keepalive.
    this.sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, 4);
    keepAlive(fd);
    if (this.sys.bind(fd, sockaddrIn(host, port), 16) < 0 || this.sys.listen(fd, BACKLOG) < 0) {
      const err = new SyscallError(`listen ${host}:${port}`, errno());
      this.sys.close(fd);
      throw err;
    }
    return fd;
  }

  private boundPort(fd: number): number {
    const addr = Buffer.alloc(16);
    const len = Buffer.from([16, 0, 0, 0]);
    this.sys.getsockname(fd, addr, len);
    return addr.readUInt16BE(2);
  }

  /** startThreads starts every thread, or none: one that cannot start (out of descriptors) stops those started. */
  private startThreads(): EngineThread[] {
    const started: EngineThread[] = [];
    try {
      for (let i = 0; i < this.size; i++) started.push(this.startThread(i));
      return started;
    } catch (err) {
      void this.stopThreads(started);
      throw err;
    }
  }

  private startThread(index: number): EngineThread {
    const wakeFd = this.sys.eventfd(0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (wakeFd < 0) throw new SyscallError('eventfd', errno());
    const channel = new MessageChannel();
    const data: EngineThreadData = { index, wakeFd, port: channel.port2, ledger: new SharedArrayBuffer(LEDGER_SIZE) };
    const worker = new Worker(threadPath(), { workerData: data, transferList: [channel.port2] });
    const thread: EngineThread = { index, worker, port: channel.port1, wakeFd, releases: new Map(), exited: false };
    channel.port1.on('message', (msg: FromEngine) => this.onMessage(thread, msg));
    worker.on('error', (err) => log.error('Userspace engine thread failed', { thread: index, err }));
    worker.on('exit', () => {
      thread.exited = true;
      channel.port1.close();
      for (const waiting of thread.releases.values()) for (const resolve of waiting) resolve();
      thread.releases.clear();
      // A thread that stopped cleanly left nothing; one that died left its connections' sockets and pipes.
      const abandoned = closeLeftBehind(data.ledger);
      if (abandoned > 0) log.error('Userspace engine thread died; closed the descriptors it left', { thread: index, descriptors: abandoned });
      this.reports.onReport(index, { type: 'report', accepted: {}, dialFailures: {}, noEndpoint: {}, open: {} });
      if (this.threads[index] === thread) setTimeout(() => this.restartThread(thread), RESTART_DELAY_MS).unref();
    });
    worker.unref();
    return thread;
  }

  private restartThread(dead: EngineThread): void {
    if (this.threads[dead.index] !== dead) return;
    let replacement: EngineThread;
    try {
      replacement = this.startThread(dead.index);
    } catch (err) {
      log.error('Userspace engine thread cannot start again, retrying', { thread: dead.index, err });
      setTimeout(() => this.restartThread(dead), RESTART_DELAY_MS).unref();
      return;
    }
    log.warn('Userspace engine thread exited and was started again', { thread: dead.index });
    this.sys.close(dead.wakeFd);
    this.threads[dead.index] = replacement;
    for (const listener of this.listeners) listener.rejoin(dead.index);
  }

  private onMessage(thread: EngineThread, msg: FromEngine): void {
    switch (msg.type) {
      case 'report':
        this.reports.onReport(thread.index, msg);
        return;
      case 'released':
        thread.releases.get(msg.key)?.shift()?.();
        return;
      case 'error':
        log.error('Userspace engine thread error', { thread: thread.index, err: msg.message });
        return;
    }
  }
}

/**
 * TcpListener is one service port's listening socket in the engine. Its
 * endpoints and affinity are pushed to the threads accepting from it;
 * close() stops accepting and leaves proxied connections running (drain).
 */
export class TcpListener {
  readonly port: number;
  private readonly engine: TcpEngine;
  private readonly key: string;
  private readonly fd: number;
  /** Threads accepting from this socket. */
  private members: number[] = [];
  private endpoints: readonly string[] = [];
  private affinityMs = 0;
  /** Threads still letting go of the socket after leaving `members` (affinity turned on). */
  private leaving: Array<Promise<void>> = [];
  private closing: Promise<void> | undefined;

  constructor(engine: TcpEngine, key: string, fd: number, port: number) {
    this.engine = engine;
    this.key = key;
    this.fd = fd;
    this.port = port;
  }

  update(endpoints: readonly string[], affinityMs: number): void {
    if (this.closing) return;
    this.endpoints = endpoints;
    this.affinityMs = affinityMs;
    const wanted = this.engine.threadsFor(affinityMs);
    for (const index of this.members) if (!wanted.includes(index)) this.leaving.push(this.engine.release(index, this.key));
    for (const index of wanted) {
      const type = this.members.includes(index) ? 'update' : 'listen';
      this.engine.send(index, type === 'listen' ? { type, key: this.key, fd: this.fd, endpoints, affinityMs } : { type, key: this.key, endpoints, affinityMs });
    }
    this.members = wanted;
  }

  /** @internal rejoin gives a restarted thread this listener again, if it had it. */
  rejoin(index: number): void {
    if (this.closing || !this.members.includes(index)) return;
    this.engine.send(index, { type: 'listen', key: this.key, fd: this.fd, endpoints: this.endpoints, affinityMs: this.affinityMs });
  }

  /** close resolves once no thread accepts from the socket any more and it is closed. */
  close(): Promise<void> {
    // Closed only once no thread can accept4 on it: a reused descriptor number would be another socket.
    this.closing ??= Promise.all([...this.leaving, ...this.members.map((index) => this.engine.release(index, this.key))]).then(() => this.engine.closeSocket(this, this.fd));
    return this.closing;
  }
}

/** threadPath: engine threads always run from the bundle (a worker thread cannot load the .ts sources under tsx). */
function threadPath(): string {
  if (!BUNDLED) bundlePath('ferry');
  return repoPath('dist', 'ferry-userspace-engine.mjs');
}
