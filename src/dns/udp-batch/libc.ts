/**
 * The few libc socket calls the batched UDP path needs, through koffi, and
 * the x86-64/aarch64 Linux layouts of the structures they take. Everything
 * here is Linux-only; callers fall back to node:dgram when loading fails.
 */
import { libcLibrary, socketCalls, type SocketCalls } from '../../util/libc.ts';

export { errno, nativeBlock, sockaddrIn } from '../../util/libc.ts';

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_RCVTIMEO = 20;
export const MSG_WAITFORONE = 0x10000;
export const EAGAIN = 11;
export const EINTR = 4;

/** Sizes on LP64 Linux. */
export const SOCKADDR_SIZE = 32; // room for sockaddr_in6 (28)
export const IOVEC_SIZE = 16;
export const MMSGHDR_SIZE = 64; // struct msghdr (56) + msg_len (4) + padding

export interface Libc extends SocketCalls {
  recvmmsg(fd: number, vec: unknown, vlen: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, vec: unknown, vlen: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
}

let loaded: Libc | undefined;

/** libc loads the functions once per thread. */
export function libc(): Libc {
  if (loaded) return loaded;
  const lib = libcLibrary();
  loaded = {
    ...socketCalls(lib),
    recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)'),
    sendmmsg: lib.func('int sendmmsg(int, void *, unsigned int, int)'),
    sendto: lib.func('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)'),
  } as Libc;
  return loaded;
}
