import type { MessageWriter } from './codec.ts';

/** nfnetlink (NETLINK_NETFILTER): a 4-byte nfgenmsg after the netlink header, the subsystem in the type's high byte. */
const NFNETLINK_V0 = 0;

/**
 * beginNfnl opens an nfnetlink message: nlmsghdr (type `subsys << 8 | msg`)
 * then nfgenmsg{family, version, res_id}. res_id (network order) is 0 but in
 * batch markers, which name there the subsystem the batch is for.
 */
export function beginNfnl(w: MessageWriter, subsys: number, msg: number, flags: number, family: number, resId = 0): MessageWriter {
  return w.begin((subsys << 8) | msg, flags).u8(family).u8(NFNETLINK_V0).u8(resId >> 8).u8(resId & 0xff);
}
