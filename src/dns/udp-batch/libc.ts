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
const PKTINFO_CMSG_SPACE = 32;

/**
 * pktinfoDestination reads the local address a datagram arrived on
 * (in_pktinfo.ipi_spec_dst) from its control messages, or undefined.
 */
export function pktinfoDestination(control: Buffer, offset: number, length: number): Buffer | undefined {
  let off = 0;
  while (off + 16 <= length) {
    const len = Number(control.readBigUInt64LE(offset + off));
    if (len < 16) return undefined;
    if (control.readInt32LE(offset + off + 8) === IPPROTO_IP && control.readInt32LE(offset + off + 12) === IP_PKTINFO && len >= 28) {
      return control.subarray(offset + off + 20, offset + off + 24);
    }
    off += (len + 7) & ~7;
  }
  return undefined;
}

/** writePktinfo writes an IP_PKTINFO control message asking to send from `source`; returns its length. */
export function writePktinfo(control: Buffer, offset: number, source: Uint8Array): number {
  control.fill(0, offset, offset + PKTINFO_CMSG_SPACE);
  control.writeBigUInt64LE(28n, offset); // CMSG_LEN(12)
  control.writeInt32LE(IPPROTO_IP, offset + 8);
  control.writeInt32LE(IP_PKTINFO, offset + 12);
  control.set(source.subarray(0, 4), offset + 20); // ipi_ifindex 0, ipi_spec_dst = source
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
