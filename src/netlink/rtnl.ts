import { addressFamily, bytesToIp, ipToBytes } from './addr.ts';
import { MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, parseAttrs, type NetlinkMessage } from './codec.ts';
import { isErrno, NetlinkDecodeError, NetlinkError } from './errors.ts';
import { NETLINK_ROUTE, NetlinkSocket, type Request } from './socket.ts';

/** rtnetlink: links (ifinfomsg + IFLA_*) and addresses (ifaddrmsg + IFA_*), as iproute2 encodes them. */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
const IFLA_IFNAME = 3;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;

/** ifinfomsg{family, pad, type, index, flags, change}. */
function ifinfomsg(w: MessageWriter, index: number): MessageWriter {
  return w.u8(0).u8(0).u16(0).u32(index).u32(0).u32(0);
}

/** encodeNewDummyLink: `ip link add <name> type dummy`. */
export function encodeNewDummyLink(name: string): Buffer {
  const w = new MessageWriter(64);
  ifinfomsg(w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE), 0).attrString(IFLA_IFNAME, name);
  // iproute2 sends LINKINFO without NLA_F_NESTED and the kind without a NUL; the kernel takes both.
  w.attrNested(IFLA_LINKINFO, (n) => n.attrBytes(IFLA_INFO_KIND, Buffer.from('dummy')), false);
  return w.end().finish();
}

export function encodeGetLinkByName(name: string): Buffer {
  const w = new MessageWriter(48);
  ifinfomsg(w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK), 0).attrString(IFLA_IFNAME, name);
  return w.end().finish();
}

export function encodeDelLink(index: number): Buffer {
  const w = new MessageWriter(32);
  ifinfomsg(w.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK), index);
  return w.end().finish();
}

export function decodeLinkIndex(m: NetlinkMessage): number {
  if (m.body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError('RTM_NEWLINK shorter than ifinfomsg');
  return m.body.readInt32LE(4);
}

/** InterfaceAddress is one address bound to a link. */
export interface InterfaceAddress {
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
}

/** encodeAddress: `ip addr add|del <ip>/<prefix> dev <index>` (add is exclusive: EEXIST when bound). */
export function encodeAddress(cmd: typeof RTM_NEWADDR | typeof RTM_DELADDR, a: InterfaceAddress): Buffer {
  const family = addressFamily(a.address);
  const bytes = ipToBytes(a.address);
  const flags = cmd === RTM_NEWADDR ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE : NLM_F_REQUEST | NLM_F_ACK;
  const w = new MessageWriter(48);
  w.begin(cmd, flags).u8(family).u8(a.prefixLength).u8(0).u8(0).u32(a.index);
  w.attrBytes(IFA_LOCAL, bytes).attrBytes(IFA_ADDRESS, bytes);
  return w.end().finish();
}

export function encodeGetAddresses(): Buffer {
  const w = new MessageWriter(32);
  w.begin(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).u8(0).u8(0).u8(0).u8(0).u32(0);
  return w.end().finish();
}

export function decodeAddress(m: NetlinkMessage): InterfaceAddress {
  if (m.body.length < IFADDRMSG_LEN) throw new NetlinkDecodeError('RTM_NEWADDR shorter than ifaddrmsg');
  const family = m.body.readUInt8(0);
  const attrs = parseAttrs(m.body, IFADDRMSG_LEN);
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!raw) throw new NetlinkDecodeError('RTM_NEWADDR without IFA_LOCAL or IFA_ADDRESS');
  return { index: m.body.readUInt32LE(4), address: bytesToIp(raw, family), prefixLength: m.body.readUInt8(1) };
}

export const addressRequest = (cmd: typeof RTM_NEWADDR | typeof RTM_DELADDR, a: InterfaceAddress): Request => ({
  message: encodeAddress(cmd, a),
  describe: () => `${cmd === RTM_NEWADDR ? 'add' : 'delete'} address ${a.address}/${a.prefixLength} on link ${a.index}`,
});

/** RouteNetlink is an rtnetlink client for the network namespace it was opened in. */
export class RouteNetlink {
  readonly socket: NetlinkSocket;

  private constructor(socket: NetlinkSocket) {
    this.socket = socket;
  }

  static open(): RouteNetlink {
    return new RouteNetlink(NetlinkSocket.open(NETLINK_ROUTE));
  }

  close(): void {
    this.socket.close();
  }

  async createDummyLink(name: string): Promise<void> {
    await this.socket.request({ message: encodeNewDummyLink(name), describe: () => `create dummy link ${name}` });
  }

  /** linkIndex returns the link's index, or undefined when there is no such link. */
  async linkIndex(name: string): Promise<number | undefined> {
    try {
      const [reply] = await this.socket.request({ message: encodeGetLinkByName(name), describe: () => `get link ${name}` });
      return reply ? decodeLinkIndex(reply) : undefined;
    } catch (e) {
      if (isErrno(e, 'ENODEV')) return undefined;
      throw e;
    }
  }

  async deleteLink(index: number): Promise<void> {
    await this.socket.request({ message: encodeDelLink(index), describe: () => `delete link ${index}` });
  }

  async addAddress(a: InterfaceAddress): Promise<void> {
    await this.socket.request(addressRequest(RTM_NEWADDR, a));
  }

  async deleteAddress(a: InterfaceAddress): Promise<void> {
    await this.socket.request(addressRequest(RTM_DELADDR, a));
  }

  /** listAddresses dumps addresses, of one link when index is given. */
  async listAddresses(index?: number): Promise<InterfaceAddress[]> {
    const replies = await this.socket.request({ message: encodeGetAddresses(), describe: () => 'dump addresses' });
    const all = replies.filter((m) => m.type === RTM_NEWADDR).map(decodeAddress);
    return index === undefined ? all : all.filter((a) => a.index === index);
  }

  /** applyAddresses adds and deletes many addresses in one batch; per-request errors come back in order. */
  applyAddresses(ops: ReadonlyArray<{ add: boolean; address: InterfaceAddress }>): Promise<Array<NetlinkError | undefined>> {
    return this.socket.batch(ops.map((op) => addressRequest(op.add ? RTM_NEWADDR : RTM_DELADDR, op.address)));
  }
}
