import { getString, MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, parseAttrs } from './codec.ts';
import { NetlinkError } from './errors.ts';
import { NETLINK_NETFILTER, NetlinkSocket } from './socket.ts';

// Extended accounting objects over nfnetlink (include/uapi/linux/netfilter/nfnetlink_acct.h),
// what iptables' `-m nfacct --nfacct-name` counts into. They live per network namespace.
const NFNL_SUBSYS_ACCT = 7;
const NFNL_MSG_ACCT_NEW = 0;
const NFNL_MSG_ACCT_GET = 1;
const NFACCT_NAME = 1;
const NFACCT_PKTS = 2;
const NFACCT_BYTES = 3;
const NFNETLINK_V0 = 0;
const AF_UNSPEC = 0;
const ENOENT = 2;
/** NFACCT_NAME_MAX, with its NUL. */
const NAME_MAX = 32;

/** NfacctCounter is one accounting object's totals. */
export interface NfacctCounter {
  readonly name: string;
  readonly packets: bigint;
  readonly bytes: bigint;
}

function message(type: number, flags: number, name: string): Buffer {
  return new MessageWriter(64)
    .begin((NFNL_SUBSYS_ACCT << 8) | type, NLM_F_REQUEST | flags)
    .u8(AF_UNSPEC).u8(NFNETLINK_V0).u16(0)
    .attrString(NFACCT_NAME, name)
    .end()
    .finish();
}

/**
 * NfacctNetlink reads and creates nfacct counters, as kube-proxy's
 * pkg/proxy/util/nfacct does (its Ensure and Get), in the calling process's
 * network namespace.
 */
export class NfacctNetlink {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  static open(): NfacctNetlink {
    return new NfacctNetlink(NetlinkSocket.open(NETLINK_NETFILTER));
  }

  /** get reads one counter; undefined when it does not exist. */
  async get(name: string): Promise<NfacctCounter | undefined> {
    if (name.length >= NAME_MAX) throw new RangeError(`nfacct name ${JSON.stringify(name)} is longer than ${NAME_MAX - 1} bytes`);
    try {
      const [reply] = await this.#sock.request({ message: message(NFNL_MSG_ACCT_GET, NLM_F_ACK, name), describe: () => `get nfacct counter ${name}` });
      if (!reply) return undefined;
      const attrs = parseAttrs(reply.body, 4); // after struct nfgenmsg
      const be64 = (type: number) => attrs.get(type)?.readBigUInt64BE(0) ?? 0n;
      return { name: getString(attrs, NFACCT_NAME) ?? name, packets: be64(NFACCT_PKTS), bytes: be64(NFACCT_BYTES) };
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) return undefined;
      throw e;
    }
  }

  /** ensure creates a counter unless it exists (a new one counts from zero; an existing one keeps its totals). */
  async ensure(name: string): Promise<void> {
    if (await this.get(name)) return;
    await this.#sock.request({ message: message(NFNL_MSG_ACCT_NEW, NLM_F_CREATE | NLM_F_ACK, name), describe: () => `create nfacct counter ${name}` });
  }

  close(): void {
    this.#sock.close();
  }
}
