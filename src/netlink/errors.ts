import { constants } from 'node:os';
import { FerryError } from '../util/errors.ts';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num, name]));

/** errnoName maps a positive errno to its symbolic name (`EEXIST`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * NetlinkError is a request the kernel refused: an NLMSG_ERROR with a negative
 * error. `errno` is positive (17 for EEXIST); `extAck` is the kernel's
 * extended-ack message when it sent one ("Attribute failed policy
 * validation"), which often says more than the errno.
 */
export class NetlinkError extends FerryError {
  readonly errno: number;
  readonly errnoName: string;
  readonly extAck: string | undefined;
  /** What was asked, e.g. `IPVS NEW_SERVICE TCP 10.96.0.1:80`. */
  readonly request: string;

  constructor(errno: number, request: string, extAck?: string) {
    const name = errnoName(errno);
    super('FERRY_ERR_NETLINK', `${request}: ${name}${extAck ? ` (${extAck})` : ''}`);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.errnoName = name;
    this.extAck = extAck;
    this.request = request;
  }
}

/** NetlinkSocketError is a failed system call on the netlink socket itself (socket, bind, sendto, recv). */
export class NetlinkSocketError extends FerryError {
  readonly syscall: string;
  readonly errno: number;

  constructor(syscall: string, errno: number) {
    super('FERRY_ERR_NETLINK_SOCKET', `netlink ${syscall}: ${errnoName(errno)}`);
    this.name = 'NetlinkSocketError';
    this.syscall = syscall;
    this.errno = errno;
  }
}

/** NetlinkDecodeError is a reply that does not parse (truncated header or attribute). */
export class NetlinkDecodeError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_NETLINK_DECODE', `netlink decode: ${message}`);
    this.name = 'NetlinkDecodeError';
  }
}

/** NetlinkTimeoutError is a request whose reply did not arrive in time. */
export class NetlinkTimeoutError extends FerryError {
  constructor(request: string, ms: number) {
    super('FERRY_ERR_NETLINK_TIMEOUT', `${request}: no reply within ${ms} ms`);
    this.name = 'NetlinkTimeoutError';
  }
}

/** isErrno tells whether an error is a NetlinkError with the given errno name (`EEXIST`). */
export function isErrno(error: unknown, name: string): boolean {
  return error instanceof NetlinkError && error.errnoName === name;
}
