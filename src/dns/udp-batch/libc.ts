/**
 * The few libc socket calls the batched UDP path needs, through koffi, and
 * the x86-64/aarch64 Linux layouts of the structures they take. Everything
 * here is Linux-only; callers fall back to node:dgram when loading fails.
 */
import { libcLibrary, socketCalls, type SocketCalls } from '../../util/libc.ts';

export { errno, nativeBlock, sockaddrIn, type NativeBlock } from '../../util/libc.ts';

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_RCVTIMEO = 20;
export const MSG_WAITFORONE = 0x10000;
export const IPPROTO_IP = 0;
export const IP_PKTINFO = 8;
export const EAGAIN = 11;
export const EINTR = 4;

/** Sizes on LP64 Linux. */
export const SOCKADDR_SIZE = 32; // room for sockaddr_in6 (28)
export const IOVEC_SIZE = 16;
export const MMSGHDR_SIZE = 64; // struct msghdr (56) + msg_len (4) + padding
export const MSGHDR_SIZE = 56;
/** Room for one IP_PKTINFO control message: CMSG_SPACE(sizeof(struct in_pktinfo)) is 32; 64 leaves slack. */
export const CONTROL_SIZE = 64;
export const PKTINFO_CMSG_SPACE = 32;

/**
 * pktinfoAt finds the local address a datagram arrived on
 * (in_pktinfo.ipi_spec_dst) in its control messages: its offset in
 * `control`, or -1. Lengths are read as 32-bit: they never exceed the block.
 */
export function pktinfoAt(control: Buffer, offset: number, length: number): number {
  let off = 0;
  while (off + 16 <= length) {
    const len = control.readUInt32LE(offset + off);
    if (len < 16) return -1;
    if (control.readInt32LE(offset + off + 8) === IPPROTO_IP && control.readInt32LE(offset + off + 12) === IP_PKTINFO && len >= 28) return offset + off + 20;
    off += (len + 7) & ~7;
  }
  return -1;
}

/** pktinfoDestination is the 4-byte local address pktinfoAt finds, or undefined. */
export function pktinfoDestination(control: Buffer, offset: number, length: number): Buffer | undefined {
  const at = pktinfoAt(control, offset, length);
  return at < 0 ? undefined : control.subarray(at, at + 4);
}

/** writePktinfo writes an IP_PKTINFO control message asking to send from `source`; returns its length. */
export function writePktinfo(control: Buffer, offset: number, source: Uint8Array): number {
  writePktinfoHeader(control, offset);
  control.set(source.subarray(0, 4), offset + 20); // ipi_spec_dst = source
  return PKTINFO_CMSG_SPACE;
}

/**
 * writePktinfoHeader writes an IP_PKTINFO control message with ipi_ifindex 0
 * and no address yet (at offset + 20); returns its length.
 */
export function writePktinfoHeader(control: Buffer, offset: number): number {
  control.fill(0, offset, offset + PKTINFO_CMSG_SPACE);
  control.writeUInt32LE(28, offset); // CMSG_LEN(12)
  control.writeInt32LE(IPPROTO_IP, offset + 8);
  control.writeInt32LE(IP_PKTINFO, offset + 12);
  return PKTINFO_CMSG_SPACE;
}

export interface Libc extends SocketCalls {
  recvmmsg(fd: number, vec: unknown, vlen: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, vec: unknown, vlen: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  sendmsg(fd: number, msg: unknown, flags: number): number;
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
    sendmsg: lib.func('intptr_t sendmsg(int, void *, int)'),
  } as Libc;
  return loaded;
}
