/**
 * The batched UDP receive loop, run in a worker thread: recvmmsg up to
 * BATCH queries at a time, answer those whose prebuilt response the main
 * thread has shared (ID, RD/CD bits and name spelling patched in place in
 * the send buffers), send them back with one sendmmsg, and pass every other
 * query to the main thread, which answers it with the full handler. One
 * syscall per batch instead of two per query is what lets a Node process
 * approach a C server's rate on this path.
 *
 * Messages in (on workerData.port): {set, key, response}, {clear}, {stop}.
 * Messages out: {miss, packet, name, local}, {stats, counts: [qtype<<4|rcode, n][]}.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ResponseArena } from '../wire/arena.ts';
import { scanQuery, sizeClass } from '../wire/fast.ts';
import { CONTROL_SIZE, EAGAIN, EINTR, errno, IOVEC_SIZE, libc, MMSGHDR_SIZE, MSG_WAITFORONE, nativeBlock, PKTINFO_CMSG_SPACE, pktinfoAt, pktinfoDestination, SOCKADDR_SIZE, writePktinfoHeader } from './libc.ts';

const BATCH = 64;
/** Most queries handed to the main thread and not yet taken; more are dropped, as a full socket buffer would. */
const MAX_MISSES_IN_FLIGHT = 4096;
const RECV_SLOT = 2048;
const SEND_SLOT = 4096;

type InMessage = { type: 'set'; key: string; response: Uint8Array } | { type: 'clear' } | { type: 'stop' };

/** pktinfo: the socket is bound to a wildcard address and answers leave from the address each query arrived on. */
const { fd, port, inflight, pktinfo } = workerData as { fd: number; port: MessagePort; inflight: Int32Array; pktinfo: boolean };
const lib = libc();
const cache = new Map<string, Buffer>();
const arena = new ResponseArena();
const counts = new Map<number, number>();

const recvVec = nativeBlock(BATCH * MMSGHDR_SIZE);
const recvIov = nativeBlock(BATCH * IOVEC_SIZE);
const recvBufs = nativeBlock(BATCH * RECV_SLOT);
const recvNames = nativeBlock(BATCH * SOCKADDR_SIZE);
// IP_PKTINFO: the address each query arrived on, so its answer leaves from that address (multi-address hosts).
const recvControl = nativeBlock(BATCH * CONTROL_SIZE);
const sendControl = nativeBlock(BATCH * CONTROL_SIZE);
const sendVec = nativeBlock(BATCH * MMSGHDR_SIZE);
const sendIov = nativeBlock(BATCH * IOVEC_SIZE);
const sendBufs = nativeBlock(BATCH * SEND_SLOT);
const sendNames = nativeBlock(BATCH * SOCKADDR_SIZE);

for (let i = 0; i < BATCH; i++) {
  recvIov.buf.writeBigUInt64LE(recvBufs.address + BigInt(i * RECV_SLOT), i * IOVEC_SIZE);
  recvIov.buf.writeBigUInt64LE(BigInt(RECV_SLOT), i * IOVEC_SIZE + 8);
  const r = i * MMSGHDR_SIZE;
  recvVec.buf.writeBigUInt64LE(recvNames.address + BigInt(i * SOCKADDR_SIZE), r);
  recvVec.buf.writeBigUInt64LE(recvIov.address + BigInt(i * IOVEC_SIZE), r + 16);
  recvVec.buf.writeBigUInt64LE(1n, r + 24);
  if (pktinfo) {
    recvVec.buf.writeBigUInt64LE(recvControl.address + BigInt(i * CONTROL_SIZE), r + 32);
    sendVec.buf.writeBigUInt64LE(sendControl.address + BigInt(i * CONTROL_SIZE), r + 32);
    // Each send slot's control message is written once; a query only fills in its address.
    writePktinfoHeader(sendControl.buf, i * CONTROL_SIZE);
  }
  sendIov.buf.writeBigUInt64LE(sendBufs.address + BigInt(i * SEND_SLOT), i * IOVEC_SIZE);
  sendVec.buf.writeBigUInt64LE(sendNames.address + BigInt(i * SOCKADDR_SIZE), r);
  sendVec.buf.writeBigUInt64LE(sendIov.address + BigInt(i * IOVEC_SIZE), r + 16);
  sendVec.buf.writeBigUInt64LE(1n, r + 24);
}

let lastStats = Date.now();

function drain(): boolean {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (!m) return true;
    const msg = m.message as InMessage;
    if (msg.type === 'stop') return false;
    if (msg.type === 'clear') {
      cache.clear();
      arena.reset();
    } else cache.set(msg.key, arena.copy(msg.response));
  }
}

function flushStats(): void {
  if (counts.size > 0) port.postMessage({ type: 'stats', counts: [...counts] });
  counts.clear();
  lastStats = Date.now();
}

/** arrivedOn is the local address query slot `i` was sent to, from its IP_PKTINFO control message. */
function arrivedOn(i: number): Buffer | undefined {
  if (!pktinfo) return undefined;
  const length = Number(recvVec.buf.readBigUInt64LE(i * MMSGHDR_SIZE + 40));
  return pktinfoDestination(recvControl.buf, i * CONTROL_SIZE, length);
}

/** answer writes the response for query slot `i` into send slot `out`; false when it must go to the main thread. */
function answer(i: number, len: number, out: number): boolean {
  const base = i * RECV_SLOT;
  const query = recvBufs.buf.subarray(base, base + len);
  const fast = scanQuery(query);
  if (!fast) return false;
  const cached = cache.get(fast.key + sizeClass('udp', fast.ednsSize, fast.dnssecOk));
  if (!cached || cached.length > SEND_SLOT) return false;
  const o = out * SEND_SLOT;
  const dst = sendBufs.buf;
  cached.copy(dst, o);
  dst[o] = query[0]!;
  dst[o + 1] = query[1]!;
  dst[o + 2] = (dst[o + 2]! & 0xfe) | (query[2]! & 0x01);
  dst[o + 3] = (dst[o + 3]! & 0xef) | (query[3]! & 0x10);
  query.copy(dst, o + 12, 12, fast.questionEnd - 4);
  sendIov.buf.writeUInt32LE(cached.length, out * IOVEC_SIZE + 8);
  recvNames.buf.copy(sendNames.buf, out * SOCKADDR_SIZE, i * SOCKADDR_SIZE, (i + 1) * SOCKADDR_SIZE);
  sendVec.buf.writeUInt32LE(recvVec.buf.readUInt32LE(i * MMSGHDR_SIZE + 8), out * MMSGHDR_SIZE + 8);
  if (pktinfo) {
    const at = pktinfoAt(recvControl.buf, i * CONTROL_SIZE, recvVec.buf.readUInt32LE(i * MMSGHDR_SIZE + 40));
    if (at >= 0) recvControl.buf.copy(sendControl.buf, out * CONTROL_SIZE + 20, at, at + 4);
    // msg_controllen is 64-bit; its high half stays 0.
    sendVec.buf.writeUInt32LE(at >= 0 ? PKTINFO_CMSG_SPACE : 0, out * MMSGHDR_SIZE + 40);
  }
  const key = (fast.qtype << 4) | (cached[3]! & 0xf);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return true;
}

for (;;) {
  if (!drain()) break;
  if (Date.now() - lastStats > 1000) flushStats();
  for (let i = 0; i < BATCH; i++) {
    recvVec.buf.writeUInt32LE(SOCKADDR_SIZE, i * MMSGHDR_SIZE + 8);
    if (pktinfo) recvVec.buf.writeUInt32LE(CONTROL_SIZE, i * MMSGHDR_SIZE + 40);
  }
  const n = lib.recvmmsg(fd, recvVec.ptr, BATCH, MSG_WAITFORONE, null);
  if (n < 0) {
    const e = errno();
    if (e === EAGAIN || e === EINTR) continue;
    break; // socket closed under us
  }
  let out = 0;
  for (let i = 0; i < n; i++) {
    const len = recvVec.buf.readUInt32LE(i * MMSGHDR_SIZE + 56);
    if (answer(i, len, out)) out++;
    else if (Atomics.load(inflight, 0) < MAX_MISSES_IN_FLIGHT) {
      Atomics.add(inflight, 0, 1);
      const base = i * RECV_SLOT;
      const namelen = recvVec.buf.readUInt32LE(i * MMSGHDR_SIZE + 8);
      port.postMessage({
        type: 'miss',
        packet: Uint8Array.prototype.slice.call(recvBufs.buf, base, base + len),
        name: Uint8Array.prototype.slice.call(recvNames.buf, i * SOCKADDR_SIZE, i * SOCKADDR_SIZE + namelen),
        local: arrivedOn(i)?.slice(),
      });
    }
  }
  // The socket blocks, so sendmmsg returns once all are queued (or on an error, which drops them as UDP may).
  if (out > 0) lib.sendmmsg(fd, sendVec.ptr, out, 0);
}
flushStats();
port.close();
