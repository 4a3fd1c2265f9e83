/**
 * The libc calls of the TCP engine, through koffi: sockets, epoll, splice,
 * pipes and eventfd. Linux only (x86-64 and aarch64 layouts). Each thread
 * loads its own functions (koffi's are per isolate).
 */
import { libcLibrary, socketCalls, type SocketCalls } from '../../util/libc.ts';

export { errno, nativeBlock, sockaddrIn, sockaddrInHost } from '../../util/libc.ts';

export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const MSG_NOSIGNAL = 0x4000;
export const EAGAIN = 11;
export const EINPROGRESS = 115;
export const EPOLLIN = 0x1;
export const EPOLLPRI = 0x2;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLET = 1 << 31;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const F_SETPIPE_SZ = 1031;

/** struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16). */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

export interface EngineLibc extends SocketCalls {
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: Buffer | null, len: Buffer | null, flags: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  shutdown(fd: number, how: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  /** recv and send on native memory (an address): a Buffer argument costs koffi ~150 ns more per call. */
  recvAt(fd: number, address: number, len: number, flags: number): number;
  sendAt(fd: number, address: number, len: number, flags: number): number;
  splice(fdIn: number, offIn: null, fdOut: number, offOut: null, len: number, flags: number): number;
  pipe2(fds: Buffer, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  epoll_create1(flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, event: number): number;
  epoll_wait(epfd: number, events: number, max: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  write(fd: number, buf: Buffer, len: number): number;
}

let loaded: EngineLibc | undefined;

export function libc(): EngineLibc {
  if (loaded) return loaded;
  const lib = libcLibrary();
  // ssize_t results are declared `long` (64-bit on LP64) so koffi returns plain numbers.
  loaded = {
    ...socketCalls(lib),
    listen: lib.func('int listen(int, int)'),
    accept4: lib.func('int accept4(int, void *, void *, int)'),
    connect: lib.func('int connect(int, void *, uint32_t)'),
    shutdown: lib.func('int shutdown(int, int)'),
    send: lib.func('long send(int, void *, size_t, int)'),
    recvAt: lib.func('long recv(int, intptr_t, size_t, int)'),
    sendAt: lib.func('long send(int, intptr_t, size_t, int)'),
    splice: lib.func('long splice(int, void *, int, void *, size_t, unsigned int)'),
    pipe2: lib.func('int pipe2(void *, int)'),
    fcntl: lib.func('int fcntl(int, int, int)'),
    epoll_create1: lib.func('int epoll_create1(int)'),
    epoll_ctl: lib.func('int epoll_ctl(int, int, int, intptr_t)'),
    epoll_wait: lib.func('int epoll_wait(int, intptr_t, int, int)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    read: lib.func('long read(int, void *, size_t)'),
    write: lib.func('long write(int, void *, size_t)'),
  } as EngineLibc;
  return loaded;
}

const ONE = Buffer.from([1, 0, 0, 0]);
const KEEPALIVE_SECONDS = Buffer.from([15, 0, 0, 0]);
const LINGER_ZERO = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/**
 * keepAlive probes an idle connection after 15 s, every 15 s, as Go's
 * net.Dial and net.Listen did for upstream's userspace proxy: a peer that
 * vanished without FIN or RST is found and its connection closed (there is
 * no idle timeout). Accepted sockets inherit it from their listener.
 */
export function keepAlive(fd: number): void {
  const sys = libc();
  sys.setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, ONE, 4);
  sys.setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, KEEPALIVE_SECONDS, 4);
  sys.setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, KEEPALIVE_SECONDS, 4);
}

/** resetOnClose makes close() send a RST (SO_LINGER 0): a failed connection must not look cleanly ended. */
export function resetOnClose(fd: number): void {
  libc().setsockopt(fd, SOL_SOCKET, SO_LINGER, LINGER_ZERO, 8);
}

/** SyscallError carries the errno of a failed call, with Node's code names for the common ones. */
export class SyscallError extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(call: string, errnum: number) {
    const code = ERRNO_CODES[errnum] ?? `E${errnum}`;
    super(`${call}: ${code}`);
    this.name = 'SyscallError';
    this.errno = errnum;
    this.code = code;
  }
}

const ERRNO_CODES: Record<number, string> = { 1: 'EPERM', 13: 'EACCES', 22: 'EINVAL', 24: 'EMFILE', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };
