import { getBe64, MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, parseAttrs, getString, type NetlinkMessage } from './codec.ts';
import { NetlinkDecodeError, isErrno } from './errors.ts';
import { beginNfnl } from './nfnl.ts';
import { NETLINK_NETFILTER, NetlinkSocket } from './socket.ts';

// Extended accounting objects over nfnetlink (include/uapi/linux/netfilter/nfnetlink_acct.h):
// named packet and byte counters that the iptables `nfacct` match adds to.
const NFNL_SUBSYS_ACCT = 7;
const NFNL_MSG_ACCT_NEW = 0;
const NFNL_MSG_ACCT_GET = 1;
const NFACCT_NAME = 1;
const NFACCT_PKTS = 2;
const NFACCT_BYTES = 3;
const AF_UNSPEC = 0;

/** NFACCT_NAME_MAX is 32 bytes with the terminating NUL: names are at most 31 bytes. */
export const NFACCT_NAME_MAX_BYTES = 31;

/** NfacctCounter is one accounting object's name and counts (u64 on the wire; exact below 2^53). */
export interface NfacctCounter {
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
}

function checkName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > NFACCT_NAME_MAX_BYTES) throw new RangeError(`nfacct name must be 1 to ${NFACCT_NAME_MAX_BYTES} bytes: ${JSON.stringify(name)}`);
}

function encode(command: number, flags: number, name: string): Buffer {
  checkName(name);
  return beginNfnl(new MessageWriter(64), NFNL_SUBSYS_ACCT, command, flags, AF_UNSPEC)
    .attrString(NFACCT_NAME, name)
    .end()
    .finish();
}

/** encodeNewAcct asks to create an object (EBUSY when it exists: without NLM_F_REPLACE its counts are kept). */
export const encodeNewAcct = (name: string): Buffer => encode(NFNL_MSG_ACCT_NEW, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, name);

/** encodeGetAcct asks for one object's counters (ENOENT when it does not exist). */
export const encodeGetAcct = (name: string): Buffer => encode(NFNL_MSG_ACCT_GET, NLM_F_REQUEST | NLM_F_ACK, name);

/** decodeAcct reads an object from a reply: its name, then packets and bytes as big-endian u64. */
export function decodeAcct(msg: NetlinkMessage): NfacctCounter {
  const attrs = parseAttrs(msg.body, 4);
  const name = getString(attrs, NFACCT_NAME);
  if (name === undefined) throw new NetlinkDecodeError('nfacct reply without a name');
  return { name, packets: getBe64(attrs, NFACCT_PKTS, 'nfacct packets'), bytes: getBe64(attrs, NFACCT_BYTES, 'nfacct bytes') };
}

/**
 * NfacctNetlink creates and reads the accounting objects of the network
 * namespace it was opened in (they are per namespace). The kernel answers
 * ENOENT for an unknown name, so a get is also how callers learn whether
 * the subsystem exists at all: without it the answer is another error.
 */
export class NfacctNetlink {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  static open(): NfacctNetlink {
    return new NfacctNetlink(NetlinkSocket.open(NETLINK_NETFILTER));
  }

  /** get returns an object's counters, or undefined when no object has that name. */
  async get(name: string): Promise<NfacctCounter | undefined> {
    try {
      const replies = await this.#sock.request({ message: encodeGetAcct(name), describe: () => `nfacct get ${name}` });
      const reply = replies[0];
      return reply ? decodeAcct(reply) : undefined;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /** ensure creates the object unless it exists; existing counts are kept (a restarted proxy goes on counting). */
  async ensure(name: string): Promise<void> {
    if (await this.get(name)) return;
    try {
      await this.#sock.request({ message: encodeNewAcct(name), describe: () => `nfacct new ${name}` });
    } catch (e) {
      // EBUSY: it was created between the get and the new, which is what we wanted.
      if (!isErrno(e, 'EBUSY')) throw e;
    }
  }

  close(): void {
    this.#sock.close();
  }
}
