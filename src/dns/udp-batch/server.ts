import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { PacketHandler } from '../packet-handler.ts';
import type { DnsMetrics } from '../metrics.ts';
import { UdpServer } from '../server-udp.ts';
import { createLogger } from '../../util/log.ts';
import { BUNDLED, repoPath } from '../../util/repo.ts';
import { AF_INET, CONTROL_SIZE, errno, IOVEC_SIZE, IP_PKTINFO, IPPROTO_IP, libc, MSGHDR_SIZE, nativeBlock, SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDBUF, SOCK_CLOEXEC, SOCK_DGRAM, SOCKADDR_SIZE, sockaddrIn, SOL_SOCKET, writePktinfo, type NativeBlock } from './libc.ts';

const log = createLogger('dns-udp');

/**
 * BatchUdpServer answers DNS over UDP (IPv4) with one socket shared by two
 * threads: a worker that receives and sends in batches (recvmmsg/sendmmsg
 * through koffi) and answers cached questions itself, and this thread,
 * which answers everything else with the handler and sends with sendto.
 * The handler's prebuilt-response cache is mirrored into the worker.
 */
export class BatchUdpServer {
  /** Set by the owner right after construction (the handler needs cacheListener first). */
  handler: PacketHandler | undefined;
  readonly #metrics: DnsMetrics | undefined;
  #fd = -1;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  /** Queries the worker handed over and this thread has not taken yet (shared counter, for back-pressure). */
  readonly #inflight = new Int32Array(new SharedArrayBuffer(4));
  #closed = false;
  /** The node:dgram server that took over after the worker failed, if it did. */
  #fallback: UdpServer | undefined;
  #workerExit: Promise<void> | undefined;
  #bound = { host: '', port: 0 };
  #sendBlock: { block: NativeBlock } | undefined;

  constructor(metrics: DnsMetrics | undefined) {
    this.#metrics = metrics;
  }

  /** cacheListener is handed to the DnsHandler so the worker sees its prebuilt responses. */
  readonly cacheListener = {
    set: (key: string, response: Buffer) => this.#port?.postMessage({ type: 'set', key, response: new Uint8Array(response) }),
    clear: () => this.#port?.postMessage({ type: 'clear' }),
  };

  listen(port: number, host: string): Promise<number> {
    const lib = libc();
    // CLOEXEC: child processes (dig in tests, anything spawned later) must not inherit the socket.
    const fd = lib.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Promise.reject(new Error(`socket: errno ${errno()}`));
    const int = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      return b;
    };
    lib.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, int(1), 4);
    lib.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int(4 << 20), 4);
    lib.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, int(4 << 20), 4);
    // On a wildcard bind, learn the address each query arrived on to answer from it (the kernel would answer
    // from the primary); a socket bound to one address answers from it anyway, without the per-query cost.
    const pktinfo = host === '0.0.0.0';
    if (pktinfo) lib.setsockopt(fd, IPPROTO_IP, IP_PKTINFO, int(1), 4);
    // The worker wakes every 20 ms without traffic to read cache updates and stop requests.
    const timeout = Buffer.alloc(16);
    timeout.writeBigInt64LE(20_000n, 8);
    lib.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
    const addr = sockaddrIn(host, port);
    if (lib.bind(fd, addr, 16) !== 0) {
      const e = errno();
      lib.close(fd);
      return Promise.reject(Object.assign(new Error(`bind ${host}:${port}: errno ${e}${e === 98 ? ' (address in use)' : ''}`), { code: e === 98 ? 'EADDRINUSE' : 'EBIND' }));
    }
    const bound = Buffer.alloc(16);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(16);
    lib.getsockname(fd, bound, len);
    this.#fd = fd;
    const channel = new MessageChannel();
    this.#port = channel.port1;
    this.#port.on('message', (m: { type: string; packet?: Uint8Array; name?: Uint8Array; local?: Uint8Array; counts?: Array<[number, number]> }) => {
      if (m.type === 'miss') {
        Atomics.sub(this.#inflight, 0, 1);
        this.#onMiss(Buffer.from(m.packet!), Buffer.from(m.name!), m.local);
      }
      else if (m.type === 'stats') for (const [k, n] of m.counts!) this.#metrics?.requests('udp', 4, k >> 4, k & 0xf, 'kubernetes', n);
    });
    this.#worker = new Worker(workerUrl(), { workerData: { fd, port: channel.port2, inflight: this.#inflight, pktinfo }, transferList: [channel.port2] });
    this.#worker.on('error', (err) => void this.#takeOver(err));
    this.#workerExit = new Promise((r) => this.#worker!.once('exit', () => r()));
    void this.#workerExit.then(() => this.#takeOver(new Error('UDP worker exited')));
    this.#bound = { host, port: bound.readUInt16BE(2) };
    return Promise.resolve(this.#bound.port);
  }

  /** takeOver answers with node:dgram on the same address when the worker dies, so UDP never goes silent. */
  async #takeOver(err: unknown): Promise<void> {
    if (this.#closed || this.#fallback || !this.handler) return;
    log.error('UDP worker failed; answering UDP with node:dgram', { err });
    this.#fallback = new UdpServer(this.handler, 4);
    this.#port?.close();
    libc().close(this.#fd);
    this.#fd = -1;
    await this.#fallback.listen(this.#bound.port, this.#bound.host).catch((e: unknown) => log.error('UDP fallback failed', { err: e }));
  }

  #onMiss(packet: Buffer, name: Buffer, local: Uint8Array | undefined): void {
    const address = `${name[4]}.${name[5]}.${name[6]}.${name[7]}`;
    const answer = this.handler?.handle(packet, { proto: 'udp', address, family: 4, port: name.readUInt16BE(2) });
    if (answer instanceof Promise) void answer.then((buf) => buf && this.#send(buf, name, local));
    else if (answer) this.#send(answer, name, local);
  }

  #send(buf: Buffer, name: Buffer, local: Uint8Array | undefined): void {
    if (this.#closed || this.#fd < 0) return;
    if (!local || buf.length > MAX_SEND) {
      libc().sendto(this.#fd, buf, buf.length, 0, name, name.length);
      return;
    }
    // sendmsg with IP_PKTINFO: the answer leaves from the address the query arrived on.
    const m = (this.#sendBlock ??= sendBlock());
    buf.copy(m.block.buf, DATA_AT);
    name.copy(m.block.buf, NAME_AT, 0, Math.min(name.length, SOCKADDR_SIZE));
    m.block.buf.writeUInt32LE(name.length, 8);
    m.block.buf.writeBigUInt64LE(BigInt(buf.length), IOV_AT + 8);
    m.block.buf.writeBigUInt64LE(BigInt(writePktinfo(m.block.buf, CONTROL_AT, local)), 40);
    libc().sendmsg(this.#fd, m.block.ptr, 0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fallback?.close();
    this.#port?.postMessage({ type: 'stop' });
    await this.#workerExit;
    this.#port?.close();
    if (this.#fd >= 0) libc().close(this.#fd);
  }
}

// Layout of the main thread's one sendmsg block: msghdr, iovec, address, control message, data.
const IOV_AT = MSGHDR_SIZE;
const NAME_AT = IOV_AT + IOVEC_SIZE;
const CONTROL_AT = NAME_AT + SOCKADDR_SIZE;
const DATA_AT = CONTROL_AT + CONTROL_SIZE;
const MAX_SEND = 65535;

function sendBlock(): { block: NativeBlock } {
  const block = nativeBlock(DATA_AT + MAX_SEND);
  block.buf.writeBigUInt64LE(block.address + BigInt(NAME_AT), 0);
  block.buf.writeBigUInt64LE(block.address + BigInt(IOV_AT), 16);
  block.buf.writeBigUInt64LE(1n, 24);
  block.buf.writeBigUInt64LE(block.address + BigInt(CONTROL_AT), 32);
  block.buf.writeBigUInt64LE(block.address + BigInt(DATA_AT), IOV_AT);
  return { block };
}

/** workerUrl finds the worker: its bundle in dist/, or the .ts source under tsx. */
function workerUrl(): string {
  return BUNDLED ? repoPath('dist', 'ferry-dns-udp-worker.mjs') : repoPath('src', 'dns', 'udp-batch', 'worker.ts');
}
