import { getU16, MessageWriter, NLM_F_ACK, NLM_F_REQUEST, parseAttrs, type NetlinkMessage } from './codec.ts';
import { NetlinkDecodeError } from './errors.ts';
import type { NetlinkSocket } from './socket.ts';

/** Generic netlink: a 4-byte genlmsghdr after the netlink header, families resolved by name. */
export const GENL_HDRLEN = 4;
export const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;

/** beginGenl opens a generic netlink message: nlmsghdr then genlmsghdr{cmd, version, reserved}. */
export function beginGenl(w: MessageWriter, familyId: number, flags: number, cmd: number, version: number): MessageWriter {
  return w.begin(familyId, flags).u8(cmd).u8(version).u16(0);
}

/** genlCommand reads the command byte of a generic netlink reply. */
export function genlCommand(m: NetlinkMessage): number {
  if (m.body.length < GENL_HDRLEN) throw new NetlinkDecodeError('generic netlink message shorter than its header');
  return m.body.readUInt8(0);
}

export function encodeGetFamily(name: string): Buffer {
  const w = new MessageWriter(64);
  beginGenl(w, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, 1).attrString(CTRL_ATTR_FAMILY_NAME, name);
  return w.end().finish();
}

export function decodeFamilyId(m: NetlinkMessage): number {
  return getU16(parseAttrs(m.body, GENL_HDRLEN), CTRL_ATTR_FAMILY_ID, 'CTRL_CMD_NEWFAMILY');
}

/** resolveFamily asks the kernel for a generic netlink family's id (ENOENT when the module is not loaded). */
export async function resolveFamily(sock: NetlinkSocket, name: string): Promise<number> {
  const replies = await sock.request({ message: encodeGetFamily(name), describe: () => `genl GETFAMILY ${name}` });
  const reply = replies[0];
  if (!reply) throw new NetlinkDecodeError(`no reply to GETFAMILY ${name}`);
  return decodeFamilyId(reply);
}
