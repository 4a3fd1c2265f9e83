import { addressFamily, bytesToIp, ipToBytes } from './addr.ts';
import { getBe16, getOptU32, getString, getU16, getU32, MessageWriter, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, parseAttrs, type Attrs, type NetlinkMessage } from './codec.ts';
import { FerryError } from '../util/errors.ts';
import { isErrno, NetlinkDecodeError, type NetlinkError } from './errors.ts';
import { beginGenl, genlCommand, GENL_HDRLEN, resolveFamily } from './genl.ts';
import { NETLINK_GENERIC, NetlinkSocket, type Request } from './socket.ts';

/** The IPVS generic netlink family (include/uapi/linux/ip_vs.h). */
const IPVS_GENL_NAME = 'IPVS';
const IPVS_GENL_VERSION = 1;

export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  FLUSH: 17,
} as const;

const CMD_ATTR_SERVICE = 1;
const CMD_ATTR_DEST = 2;
const CMD_ATTR_TIMEOUT_TCP = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN = 5;
const CMD_ATTR_TIMEOUT_UDP = 6;

const SVC_AF = 1;
const SVC_PROTOCOL = 2;
const SVC_ADDR = 3;
const SVC_PORT = 4;
const SVC_FWMARK = 5;
const SVC_SCHED_NAME = 6;
const SVC_FLAGS = 7;
const SVC_TIMEOUT = 8;
const SVC_NETMASK = 9;

const DEST_ADDR = 1;
const DEST_PORT = 2;
const DEST_FWD_METHOD = 3;
const DEST_WEIGHT = 4;
const DEST_U_THRESH = 5;
const DEST_L_THRESH = 6;
const DEST_ACTIVE_CONNS = 7;
const DEST_INACT_CONNS = 8;
const DEST_PERSIST_CONNS = 9;
const DEST_ADDR_FAMILY = 11;
const DEST_TUN_TYPE = 13;
const DEST_TUN_PORT = 14;
const DEST_TUN_FLAGS = 15;

const INFO_ATTR_VERSION = 1;
const INFO_ATTR_CONN_TAB_SIZE = 2;

/** Service flags (IP_VS_SVC_F_*). */
export const IPVS_SVC_F_PERSISTENT = 0x1;
export const IPVS_SVC_F_HASHED = 0x2;
export const IPVS_SVC_F_SCHED_SH_FALLBACK = 0x8;
export const IPVS_SVC_F_SCHED_SH_PORT = 0x10;
/** Forwarding methods (IP_VS_CONN_F_*). */
export const IPVS_FWD_MASQ = 0;

export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';
const protocolNumbers: Record<IpvsProtocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const protocolNames = new Map<number, IpvsProtocol>([
  [6, 'TCP'],
  [17, 'UDP'],
  [132, 'SCTP'],
]);

/** ServiceKey identifies a virtual server. */
export interface ServiceKey {
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
}

/** VirtualService is a virtual server with its settings (`ipvsadm -A`). */
export interface VirtualService extends ServiceKey {
  readonly scheduler: string;
  /** IPVS_SVC_F_* (the kernel adds HASHED on services it holds; compare with it masked off). */
  readonly flags: number;
  /** Persistence timeout in seconds (with IPVS_SVC_F_PERSISTENT). */
  readonly timeout: number;
  /** 0xffffffff for IPv4, 128 for IPv6, as kube-proxy sends. */
  readonly netmask: number;
}

/** Destination is a real server (`ipvsadm -a`). */
export interface Destination {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** Forwarding method; MASQ (NAT) is what kube-proxy uses. */
  readonly forward: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** Tunnel settings, sent only when present (ipvsadm always sends them, as zeros). */
  readonly tunnel?: { readonly type: number; readonly port: number; readonly flags: number };
}

/** DestinationStatus is a real server as the kernel reports it, with its connection counts. */
export interface DestinationStatus extends Destination {
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly persistConns: number;
}

export interface IpvsInfo {
  /** e.g. "1.2.1". */
  readonly version: string;
  readonly connTableSize: number;
}

/** Timeouts in seconds, `ipvsadm --set tcp tcpfin udp`; 0 leaves a value unchanged. */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

export const serviceKeyString = (k: ServiceKey): string =>
  `${k.protocol} ${k.address.includes(':') ? `[${k.address}]` : k.address}:${k.port}`;

const isFull = (s: ServiceKey | VirtualService): s is VirtualService => 'scheduler' in s;

/** nfInetAddr pads an address to the kernel's 16-byte nf_inet_addr, as ipvsadm sends it. */
function nfInetAddr(ip: string): Buffer {
  const b = Buffer.alloc(16);
  ipToBytes(ip).copy(b);
  return b;
}

function writeService(w: MessageWriter, s: ServiceKey | VirtualService): void {
  w.attrNested(CMD_ATTR_SERVICE, (n) => {
    n.attrU16(SVC_AF, addressFamily(s.address))
      .attrU16(SVC_PROTOCOL, protocolNumbers[s.protocol])
      .attrBytes(SVC_ADDR, nfInetAddr(s.address))
      .attrBe16(SVC_PORT, s.port);
    if (!isFull(s)) return;
    n.attrString(SVC_SCHED_NAME, s.scheduler);
    n.attrBytes(SVC_FLAGS, flagsAndMask(s.flags));
    n.attrU32(SVC_TIMEOUT, s.timeout).attrU32(SVC_NETMASK, s.netmask);
  });
}

function flagsAndMask(flags: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(flags >>> 0, 0);
  b.writeUInt32LE(0xffffffff, 4);
  return b;
}

function writeDest(w: MessageWriter, d: Destination | Pick<Destination, 'address' | 'port'>): void {
  w.attrNested(CMD_ATTR_DEST, (n) => {
    n.attrU16(DEST_ADDR_FAMILY, addressFamily(d.address)).attrBytes(DEST_ADDR, nfInetAddr(d.address)).attrBe16(DEST_PORT, d.port);
    if (!('weight' in d)) return;
    n.attrU32(DEST_FWD_METHOD, d.forward).attrU32(DEST_WEIGHT, d.weight);
    if (d.tunnel) n.attrU8(DEST_TUN_TYPE, d.tunnel.type).attrBe16(DEST_TUN_PORT, d.tunnel.port).attrU16(DEST_TUN_FLAGS, d.tunnel.flags);
    n.attrU32(DEST_U_THRESH, d.upperThreshold).attrU32(DEST_L_THRESH, d.lowerThreshold);
  });
}

/**
 * IpvsEncoder builds IPVS requests for a resolved family id. Service commands
 * carry the full settings for NEW/SET and only the key for DEL; destination
 * commands carry the service key, and the full destination for NEW/SET.
 */
export class IpvsEncoder {
  readonly familyId: number;

  constructor(familyId: number) {
    this.familyId = familyId;
  }

  private message(cmd: number, flags: number, fill?: (w: MessageWriter) => void): Buffer {
    const w = new MessageWriter(256);
    beginGenl(w, this.familyId, flags, cmd, IPVS_GENL_VERSION);
    fill?.(w);
    return w.end().finish();
  }

  service(cmd: number, s: ServiceKey | VirtualService): Buffer {
    return this.message(cmd, NLM_F_REQUEST | NLM_F_ACK, (w) => writeService(w, s));
  }

  dest(cmd: number, s: ServiceKey | VirtualService, d: Destination | Pick<Destination, 'address' | 'port'>): Buffer {
    return this.message(cmd, NLM_F_REQUEST | NLM_F_ACK, (w) => {
      writeService(w, s);
      writeDest(w, d);
    });
  }

  dumpServices(): Buffer {
    return this.message(IPVS_CMD.GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP);
  }

  dumpDests(s: ServiceKey): Buffer {
    return this.message(IPVS_CMD.GET_DEST, NLM_F_REQUEST | NLM_F_DUMP, (w) => writeService(w, s));
  }

  simple(cmd: number): Buffer {
    return this.message(cmd, NLM_F_REQUEST | NLM_F_ACK);
  }

  setTimeouts(t: IpvsTimeouts): Buffer {
    return this.message(IPVS_CMD.SET_CONFIG, NLM_F_REQUEST | NLM_F_ACK, (w) => {
      w.attrU32(CMD_ATTR_TIMEOUT_TCP, t.tcp).attrU32(CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin).attrU32(CMD_ATTR_TIMEOUT_UDP, t.udp);
    });
  }
}

function nested(m: NetlinkMessage, type: number, what: string): Attrs {
  const top = parseAttrs(m.body, GENL_HDRLEN).get(type);
  if (!top) throw new NetlinkDecodeError(`${what} without its nested attribute`);
  return parseAttrs(top);
}

/** decodeService reads a NEW_SERVICE dump message; undefined for fwmark services (Ferry never makes those). */
export function decodeService(m: NetlinkMessage): VirtualService | undefined {
  const a = nested(m, CMD_ATTR_SERVICE, 'IPVS service');
  if (a.has(SVC_FWMARK) && !a.has(SVC_ADDR)) return undefined;
  const family = getU16(a, SVC_AF, 'IPVS service');
  const protocol = protocolNames.get(getU16(a, SVC_PROTOCOL, 'IPVS service'));
  const addr = a.get(SVC_ADDR);
  if (!protocol || !addr) return undefined;
  const flags = a.get(SVC_FLAGS);
  return {
    protocol,
    address: bytesToIp(addr, family),
    port: getBe16(a, SVC_PORT, 'IPVS service'),
    scheduler: getString(a, SVC_SCHED_NAME) ?? '',
    flags: flags && flags.length >= 4 ? flags.readUInt32LE(0) : 0,
    timeout: getOptU32(a, SVC_TIMEOUT) ?? 0,
    netmask: getOptU32(a, SVC_NETMASK) ?? 0,
  };
}

export function decodeDest(m: NetlinkMessage, serviceFamily: number): DestinationStatus {
  const a = nested(m, CMD_ATTR_DEST, 'IPVS destination');
  const addr = a.get(DEST_ADDR);
  if (!addr) throw new NetlinkDecodeError('IPVS destination without an address');
  const family = a.has(DEST_ADDR_FAMILY) ? getU16(a, DEST_ADDR_FAMILY, 'IPVS destination') : serviceFamily;
  return {
    address: bytesToIp(addr, family),
    port: getBe16(a, DEST_PORT, 'IPVS destination'),
    forward: getU32(a, DEST_FWD_METHOD, 'IPVS destination') & 0x7,
    weight: getU32(a, DEST_WEIGHT, 'IPVS destination'),
    upperThreshold: getOptU32(a, DEST_U_THRESH) ?? 0,
    lowerThreshold: getOptU32(a, DEST_L_THRESH) ?? 0,
    activeConns: getOptU32(a, DEST_ACTIVE_CONNS) ?? 0,
    inactiveConns: getOptU32(a, DEST_INACT_CONNS) ?? 0,
    persistConns: getOptU32(a, DEST_PERSIST_CONNS) ?? 0,
  };
}

/** IpvsUnavailableError: the kernel has no IPVS family (the ip_vs module is not loaded or not built). */
export class IpvsUnavailableError extends FerryError {
  constructor(cause: unknown) {
    super('FERRY_ERR_IPVS_UNAVAILABLE', 'IPVS is not available in this kernel (load the ip_vs module)', { cause });
    this.name = 'IpvsUnavailableError';
  }
}

/** IpvsNetlink is an IPVS client over generic netlink for the namespace it was opened in. */
export class IpvsNetlink {
  readonly socket: NetlinkSocket;
  readonly encode: IpvsEncoder;

  private constructor(socket: NetlinkSocket, familyId: number) {
    this.socket = socket;
    this.encode = new IpvsEncoder(familyId);
  }

  static async open(): Promise<IpvsNetlink> {
    const socket = NetlinkSocket.open(NETLINK_GENERIC);
    try {
      return new IpvsNetlink(socket, await resolveFamily(socket, IPVS_GENL_NAME));
    } catch (e) {
      socket.close();
      throw isErrno(e, 'ENOENT') ? new IpvsUnavailableError(e) : e;
    }
  }

  close(): void {
    this.socket.close();
  }

  async info(): Promise<IpvsInfo> {
    const [reply] = await this.socket.request({ message: this.encode.simple(IPVS_CMD.GET_INFO), describe: () => 'IPVS GET_INFO' });
    if (!reply) throw new NetlinkDecodeError('no reply to IPVS GET_INFO');
    const a = parseAttrs(reply.body, GENL_HDRLEN);
    const v = getU32(a, INFO_ATTR_VERSION, 'IPVS info');
    return { version: `${v >> 16}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: getU32(a, INFO_ATTR_CONN_TAB_SIZE, 'IPVS info') };
  }

  async timeouts(): Promise<IpvsTimeouts> {
    const [reply] = await this.socket.request({ message: this.encode.simple(IPVS_CMD.GET_CONFIG), describe: () => 'IPVS GET_CONFIG' });
    if (!reply) throw new NetlinkDecodeError('no reply to IPVS GET_CONFIG');
    const a = parseAttrs(reply.body, GENL_HDRLEN);
    return { tcp: getOptU32(a, CMD_ATTR_TIMEOUT_TCP) ?? 0, tcpFin: getOptU32(a, CMD_ATTR_TIMEOUT_TCP_FIN) ?? 0, udp: getOptU32(a, CMD_ATTR_TIMEOUT_UDP) ?? 0 };
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    await this.socket.request({ message: this.encode.setTimeouts(t), describe: () => 'IPVS SET_CONFIG' });
  }

  async flush(): Promise<void> {
    await this.socket.request({ message: this.encode.simple(IPVS_CMD.FLUSH), describe: () => 'IPVS FLUSH' });
  }

  async listServices(): Promise<VirtualService[]> {
    const replies = await this.socket.request({ message: this.encode.dumpServices(), describe: () => 'IPVS dump services' });
    return replies.filter((m) => genlCommand(m) === IPVS_CMD.NEW_SERVICE).flatMap((m) => decodeService(m) ?? []);
  }

  async listDestinations(s: ServiceKey): Promise<DestinationStatus[]> {
    const family = addressFamily(s.address);
    const replies = await this.socket.request({ message: this.encode.dumpDests(s), describe: () => `IPVS dump destinations of ${serviceKeyString(s)}` });
    return replies.filter((m) => genlCommand(m) === IPVS_CMD.NEW_DEST).map((m) => decodeDest(m, family));
  }

  // Requests for batches (apply), and single-shot helpers built on them.
  newService = (s: VirtualService): Request => ({ message: this.encode.service(IPVS_CMD.NEW_SERVICE, s), describe: () => `IPVS add service ${serviceKeyString(s)}` });
  setService = (s: VirtualService): Request => ({ message: this.encode.service(IPVS_CMD.SET_SERVICE, s), describe: () => `IPVS update service ${serviceKeyString(s)}` });
  delService = (s: ServiceKey): Request => ({
    message: this.encode.service(IPVS_CMD.DEL_SERVICE, { protocol: s.protocol, address: s.address, port: s.port }),
    describe: () => `IPVS delete service ${serviceKeyString(s)}`,
  });
  newDest = (s: ServiceKey, d: Destination): Request => ({
    message: this.encode.dest(IPVS_CMD.NEW_DEST, key(s), d),
    describe: () => `IPVS add destination ${d.address}:${d.port} to ${serviceKeyString(s)}`,
  });
  setDest = (s: ServiceKey, d: Destination): Request => ({
    message: this.encode.dest(IPVS_CMD.SET_DEST, key(s), d),
    describe: () => `IPVS update destination ${d.address}:${d.port} of ${serviceKeyString(s)}`,
  });
  delDest = (s: ServiceKey, d: Pick<Destination, 'address' | 'port'>): Request => ({
    message: this.encode.dest(IPVS_CMD.DEL_DEST, key(s), { address: d.address, port: d.port }),
    describe: () => `IPVS delete destination ${d.address}:${d.port} from ${serviceKeyString(s)}`,
  });

  /** apply sends requests as one batch; one entry per request, undefined on success. */
  apply(reqs: readonly Request[]): Promise<Array<NetlinkError | undefined>> {
    return this.socket.batch(reqs);
  }

  /** run sends one request and throws its NetlinkError. */
  async run(req: Request): Promise<void> {
    await this.socket.request(req);
  }
}

const key = (s: ServiceKey): ServiceKey => ({ protocol: s.protocol, address: s.address, port: s.port });

