/**
 * The few libc socket calls the batched UDP path needs, through koffi, and
 * the x86-64/aarch64 Linux layouts of the structures they take; and
 * malloc_trim (src/dns/malloc-trim.ts). Everything here is Linux-only;
 * callers fall back to node:dgram when loading fails.
 */
import koffi from 'koffi';

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

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  recvmmsg(fd: number, vec: unknown, vlen: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, vec: unknown, vlen: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  close(fd: number): number;
  malloc_trim(pad: number): number;
}

let loaded: Libc | undefined;

/** libc loads the functions once per thread. */
export function libc(): Libc {
  if (loaded) return loaded;
  const lib = koffi.load('libc.so.6');
  loaded = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
    bind: lib.func('int bind(int, void *, uint32_t)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)'),
    sendmmsg: lib.func('int sendmmsg(int, void *, unsigned int, int)'),
    sendto: lib.func('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)'),
    close: lib.func('int close(int)'),
    malloc_trim: lib.func('int malloc_trim(size_t)'),
  } as Libc;
  return loaded;
}

export function errno(): number {
  return koffi.errno();
}

/** NativeBlock is native memory with a stable address and a Buffer view onto it. */
export interface NativeBlock {
  ptr: unknown;
  address: bigint;
  buf: Buffer;
}

export function nativeBlock(size: number): NativeBlock {
  const ptr = koffi.alloc('uint8_t', size);
  const address = koffi.address(ptr) as bigint;
  const buf = Buffer.from(koffi.view(ptr, size) as ArrayBuffer);
  buf.fill(0);
  return { ptr, address, buf };
}

/** sockaddrIn encodes an IPv4 socket address. */
export function sockaddrIn(host: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  host.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
  return b;
}
