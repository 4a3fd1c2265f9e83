import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';
import { createLogger } from '../util/log.ts';
import type { FromWorker, ToWorker, WorkerReport } from './worker-protocol.ts';
import { BUNDLED, repoPath } from '../util/repo.ts';

const log = createLogger('userspace');
// From the bundle, the worker's own bundle (scripts/bundle.mjs); under tsx, its source (fork passes tsx's --import on).
const workerMain = BUNDLED ? repoPath('dist', 'ferry-userspace-worker.mjs') : repoPath('src', 'userspace', 'worker-main.ts');

/**
 * SHARED_ACCEPT_ENV makes libuv accept one connection per wake-up and then
 * yield, so processes sharing a listening socket take turns. Without it each
 * process drains the accept queue in a loop while the others wake for
 * nothing; measured on the lab (2 cores, wrk with a new connection per
 * request) that made two processes 2-3x slower than one, and with it faster.
 * libuv reads it once, at its first accept, so the primary must set it
 * before its listeners see a connection (createProxier does).
 */
export const SHARED_ACCEPT_ENV = { UV_TCP_SINGLE_ACCEPT: '1' } as const;

/** WorkerReports receives the counters workers report (merged into the primary's metrics). */
export interface WorkerReports {
  onReport(worker: number, report: WorkerReport): void;
}

interface Shared {
  readonly server: Server;
  endpoints: readonly string[];
}

/**
 * WorkerPool runs extra processes that accept from the primary's TCP
 * listeners, so connection handling uses more than one core: every process
 * holding a listening socket waits on it and the kernel hands each new
 * connection to one of them. (Node 20 has no SO_REUSEPORT for net servers;
 * sharing one socket is what node:cluster's SCHED_NONE does.) A worker gets
 * listeners only once it said it is ready: a listener delivered before its
 * handler exists would accept connections nobody serves. A worker that dies
 * is started again and given every shared listener.
 */
export class WorkerPool {
  private readonly size: number;
  private readonly reports: WorkerReports;
  private readonly workers: ChildProcess[] = [];
  /** Workers that have installed their message handler; only they are sent anything. */
  private readonly ready = new Set<ChildProcess>();
  private readonly shared = new Map<string, Shared>();
  private closed = false;

  constructor(size: number, reports: WorkerReports) {
    this.size = size;
    this.reports = reports;
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
  }

  get workerCount(): number {
    return this.size;
  }

  /** share hands a listening server to every worker. */
  share(key: string, server: Server, endpoints: readonly string[]): void {
    this.shared.set(key, { server, endpoints });
    for (const w of this.ready) send(w, { type: 'share', key, endpoints }, server);
  }

  setEndpoints(key: string, endpoints: readonly string[]): void {
    const entry = this.shared.get(key);
    if (!entry || sameList(entry.endpoints, endpoints)) return;
    entry.endpoints = endpoints;
    for (const w of this.ready) send(w, { type: 'endpoints', key, endpoints });
  }

  /** unshare makes the workers close their copies of a listener (their open connections drain). */
  unshare(key: string): void {
    if (!this.shared.delete(key)) return;
    for (const w of this.ready) send(w, { type: 'unshare', key });
  }

  isShared(key: string): boolean {
    return this.shared.has(key);
  }

  /** close stops the workers (their connections end with them); idempotent. */
  close(): void {
    this.closed = true;
    this.shared.clear();
    for (const w of this.workers) w.kill('SIGTERM');
  }

  private spawn(index: number): ChildProcess {
    const child = fork(workerMain, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json', env: { ...process.env, ...SHARED_ACCEPT_ENV } });
    child.on('message', (msg: FromWorker) => {
      if (msg.type === 'report') this.reports.onReport(index, msg);
      else if (msg.type === 'ready' && !this.closed) {
        this.ready.add(child);
        for (const [key, { server, endpoints }] of this.shared) send(child, { type: 'share', key, endpoints }, server);
      }
    });
    child.on('exit', (code, signal) => {
      this.ready.delete(child);
      if (this.closed) return;
      log.warn('Userspace worker exited, restarting it in 1s', { worker: index, code, signal });
      // The delay keeps a worker that cannot start from spinning.
      setTimeout(() => {
        if (this.closed) return;
        this.workers[index] = this.spawn(index);
      }, 1000).unref();
    });
    return child;
  }
}

function send(worker: ChildProcess, msg: ToWorker, handle?: Server): void {
  if (!worker.connected) return;
  worker.send(msg, handle, (err) => {
    if (err) log.info(1, 'Message to userspace worker failed', { err });
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
