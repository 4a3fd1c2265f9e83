/**
 * What the modules that call libc through koffi share (the DNS server's
 * batched UDP path, the userspace proxy's engine threads): errno, native
 * memory with a stable address, IPv4 socket addresses. Linux only.
 */
import koffi from 'koffi';

const AF_INET = 2;

let library: koffi.IKoffiLib | undefined;

/** libcLibrary is libc.so.6, loaded once per thread (koffi's functions belong to one isolate). */
export function libcLibrary(): koffi.IKoffiLib {
  library ??= koffi.load('libc.so.6');
  return library;
}

/** SocketCalls are the socket calls every caller declares the same way. */
export interface SocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  close(fd: number): number;
}

export function socketCalls(lib: koffi.IKoffiLib): SocketCalls {
  return {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
    bind: lib.func('int bind(int, void *, uint32_t)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    close: lib.func('int close(int)'),
  } as SocketCalls;
}

/** errno of the last koffi call on this thread. */
export function errno(): number {
  return koffi.errno();
}

/**
 * NativeBlock is memory koffi allocated, seen from JavaScript as a Buffer.
 * Its address can go into structures the kernel reads (iovecs) or be passed
 * to a function declared with an `intptr_t` parameter, which costs koffi
 * less per call than a Buffer argument. It lives as long as the thread.
 */
export interface NativeBlock {
  readonly ptr: unknown;
  readonly address: bigint;
  readonly buf: Buffer;
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

/** sockaddrInHost decodes the address of an IPv4 socket address. */
export function sockaddrInHost(b: Buffer): string {
  return `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
}
