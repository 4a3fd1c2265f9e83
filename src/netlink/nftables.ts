import { MessageWriter, NLM_F_DUMP, NLM_F_REQUEST } from './codec.ts';
import { NetlinkError } from './errors.ts';
import { NETLINK_NETFILTER, NetlinkSocket } from './socket.ts';

// nf_tables over nfnetlink (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h).
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETRULE = 7;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFNETLINK_V0 = 0;
const ENOENT = 2;

export const NFPROTO_IPV4 = 2;

/**
 * NftablesNetlink reads from nf_tables directly. nft's own listing of one
 * chain loads every element of every set its table's rules use (2.9 s and
 * 270 MB at 10k services), while the kernel dumps one chain's rules alone in
 * microseconds; the proxier's canary check needs only that.
 */
export class NftablesNetlink {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  static open(): NftablesNetlink {
    return new NftablesNetlink(NetlinkSocket.open(NETLINK_NETFILTER));
  }

  /** countRules returns how many rules a chain holds: 0 also when the table or chain does not exist. */
  async countRules(family: number, table: string, chain: string): Promise<number> {
    const w = new MessageWriter(128)
      .begin((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_REQUEST | NLM_F_DUMP)
      .u8(family).u8(NFNETLINK_V0).u16(0)
      .attrString(NFTA_RULE_TABLE, table)
      .attrString(NFTA_RULE_CHAIN, chain)
      .end();
    try {
      const replies = await this.#sock.request({ message: w.finish(), describe: () => `list rules of chain ${table} ${chain}` });
      return replies.length;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) return 0;
      throw e;
    }
  }

  close(): void {
    this.#sock.close();
  }
}
