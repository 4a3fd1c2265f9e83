import { createSocket, type Socket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { UpstreamError } from './errors.ts';
import { FLAG, QTYPE, RCODE } from './wire/constants.ts';
import type { ResourceRecord } from './wire/message.ts';
import { readName } from './wire/name.ts';
import { parseResponse, type ParsedResponse } from './wire/response.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-forward');

export interface Upstream {
  address: string;
  port: number;
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Per-upstream attempt timeout; the whole exchange gives up after two attempts. */
  timeoutMs: number;
  /** Most responses kept in the cache; 0 keeps none (a Corefile without `cache`). */
  cacheSize: number;
  /** Most seconds a response is kept (`cache TTL`, `success CAP TTL`); default 3600, as CoreDNS's cache. */
  maxTtl?: number;
  /** Most seconds a negative response is kept (`cache TTL`, `denial CAP TTL`); default 1800. */
  maxNegativeTtl?: number;
  /** Fewest seconds a cached response is kept (`success|denial CAP TTL MINTTL`); default 0: its own TTL. */
  minTtl?: number;
  /** Which upstream is asked first (`forward { policy }`); default random. */
  policy?: 'random' | 'round_robin' | 'sequential';
}

interface Pending {
  resolve: (buf: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  upstream: Upstream;
}

interface Cached {
  response: Buffer;
  expiresAt: number;
}

const MAX_CACHE_TTL = 3600;
const MAX_NEGATIVE_TTL = 1800;

/**
 * Forwarder sends names outside the cluster to the upstream resolvers: UDP
 * first, TCP when the answer comes back truncated (TC) and the asker can
 * take a large answer (a TCP client, or our own ExternalName chase; a UDP
 * client gets the truncated answer and retries over TCP itself), the next upstream
 * on timeout, and an UpstreamError when none answers (the caller answers
 * SERVFAIL; nothing hangs). Responses are cached for their smallest TTL
 * (negative ones for the SOA minimum), capped as CoreDNS's cache is.
 */
export class Forwarder {
  readonly #upstreams: Upstream[];
  readonly #timeoutMs: number;
  readonly #cacheSize: number;
  readonly #maxTtl: number;
  readonly #maxNegativeTtl: number;
  readonly #minTtl: number;
  readonly #policy: NonNullable<ForwarderOptions['policy']>;
  #nextUpstream = 0;
  readonly #cache = new Map<string, Cached>();
  readonly #pending = new Map<number, Pending>();
  #sockets: { 4?: Socket; 6?: Socket } = {};
  #closed = false;

  constructor(options: ForwarderOptions) {
    this.#upstreams = options.upstreams;
    this.#timeoutMs = options.timeoutMs;
    this.#cacheSize = options.cacheSize;
    this.#maxTtl = options.maxTtl ?? MAX_CACHE_TTL;
    this.#maxNegativeTtl = options.maxNegativeTtl ?? MAX_NEGATIVE_TTL;
    this.#minTtl = options.minTtl ?? 0;
    this.#policy = options.policy ?? 'random';
  }

  get upstreams(): readonly Upstream[] {
    return this.#upstreams;
  }

  /**
   * forward relays a client's query (as received) and resolves to the
   * upstream's response carrying the client's ID. `key` identifies the
   * question and the answer size class for the cache; `questionEnd` lets a
   * cached response take the client's spelling of the name.
   */
  async forward(packet: Buffer, key: string, questionEnd: number, overTcp: boolean): Promise<Buffer> {
    const hit = this.#cacheGet(key);
    const response = hit ?? (await this.#exchange(packet, overTcp));
    if (!hit) this.#cachePut(key, response);
    const out = Buffer.from(response);
    out.writeUInt16BE(packet.readUInt16BE(0), 0);
    if (hit && response.length >= questionEnd) packet.copy(out, 12, 12, questionEnd);
    return out;
  }

  /** resolve looks `name` up for ExternalName chasing and returns the answer's A/AAAA/CNAME records. */
  async resolve(name: string, qtype: number): Promise<ResourceRecord[]> {
    const key = `${name}|${qtype}|chase`;
    const hit = this.#cacheGet(key);
    const response = hit ?? (await this.#exchange(buildQuery(name, qtype), true));
    if (!hit) this.#cachePut(key, response);
    const parsed = parseResponse(response);
    const out: ResourceRecord[] = [];
    for (const rr of parsed.answer) {
      if (rr.type === QTYPE.CNAME) out.push({ name: rr.name, ttl: rr.ttl, type: QTYPE.CNAME, target: readName(response, rr.rdataOffset).text });
      else if (rr.type === QTYPE.A || rr.type === QTYPE.AAAA) out.push({ name: rr.name, ttl: rr.ttl, type: 'raw', rrtype: rr.type, rdata: Buffer.from(rr.rdata) });
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    for (const socket of Object.values(this.#sockets)) socket?.close();
    this.#sockets = {};
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new UpstreamError('forwarder closed'));
      this.#pending.delete(id);
    }
  }

  async #exchange(query: Buffer, tcpOnTruncation: boolean): Promise<Buffer> {
    if (this.#upstreams.length === 0) throw new UpstreamError('no upstream resolver configured');
    const attempts = Math.min(2, this.#upstreams.length);
    const n = this.#upstreams.length;
    const first = this.#policy === 'sequential' ? 0 : this.#policy === 'round_robin' ? this.#nextUpstream++ % n : randomInt(n);
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const upstream = this.#upstreams[(first + i) % this.#upstreams.length]!;
      try {
        const response = checkReply(query, await this.#udp(query, upstream));
        if (tcpOnTruncation && response.readUInt16BE(2) & FLAG.TC) return checkReply(query, await this.#tcp(query, upstream));
        return response;
      } catch (error) {
        lastError = error;
        log.info(2, 'Upstream attempt failed', { upstream: `${upstream.address}:${upstream.port}`, err: error });
      }
    }
    throw new UpstreamError(`no answer from upstream: ${(lastError as Error)?.message ?? 'unknown'}`, { cause: lastError });
  }

  #udp(query: Buffer, upstream: Upstream): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new UpstreamError('forwarder closed'));
    const socket = this.#socket(isIP(upstream.address) === 6 ? 6 : 4);
    let id = randomInt(0x10000);
    while (this.#pending.has(id)) id = (id + 1) & 0xffff;
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new UpstreamError('upstream timed out'));
      }, this.#timeoutMs);
      // The reply matched our random ID; it carries the query's own ID from here on.
      const answered = (reply: Buffer) => {
        reply.writeUInt16BE(query.readUInt16BE(0), 0);
        resolve(reply);
      };
      this.#pending.set(id, { resolve: answered, reject, timer, upstream });
      socket.send(out, upstream.port, upstream.address, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new UpstreamError(`send to upstream failed: ${err.message}`, { cause: err }));
      });
    });
  }

  #socket(family: 4 | 6): Socket {
    const existing = this.#sockets[family];
    if (existing) return existing;
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const p = this.#pending.get(msg.readUInt16BE(0));
      if (!p || rinfo.port !== p.upstream.port || rinfo.address !== p.upstream.address) return;
      clearTimeout(p.timer);
      this.#pending.delete(msg.readUInt16BE(0));
      p.resolve(msg);
    });
    socket.on('error', (err) => log.warn('Upstream socket error', { err }));
    socket.unref();
    this.#sockets[family] = socket;
    return socket;
  }

  #tcp(query: Buffer, upstream: Upstream): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: upstream.address, port: upstream.port });
      let data = Buffer.alloc(0);
      const fail = (err: Error) => {
        socket.destroy();
        reject(err instanceof UpstreamError ? err : new UpstreamError(`upstream TCP: ${err.message}`, { cause: err }));
      };
      socket.setTimeout(this.#timeoutMs, () => fail(new UpstreamError('upstream TCP timed out')));
      socket.on('error', fail);
      socket.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        socket.write(frame);
      });
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (data.length < 2 || data.length < 2 + data.readUInt16BE(0)) return;
        socket.end();
        resolve(Buffer.from(data.subarray(2, 2 + data.readUInt16BE(0))));
      });
      socket.on('end', () => fail(new UpstreamError('upstream closed the TCP connection before answering')));
    });
  }

  #cacheGet(key: string): Buffer | undefined {
    const hit = this.#cache.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt > Date.now()) return hit.response;
    this.#cache.delete(key);
    return undefined;
  }

  #cachePut(key: string, response: Buffer): void {
    let parsed: ParsedResponse;
    try {
      parsed = parseResponse(response);
    } catch {
      return;
    }
    const own = cacheTtl(parsed);
    if (own <= 0 || this.#cacheSize <= 0) return;
    const positive = parsed.rcode === RCODE.NOERROR && parsed.answer.length > 0;
    const ttl = Math.max(this.#minTtl, Math.min(positive ? this.#maxTtl : this.#maxNegativeTtl, own));
    if (ttl <= 0) return;
    if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { response, expiresAt: Date.now() + ttl * 1000 });
  }
}

/**
 * checkReply accepts an upstream reply only if it answers this query: a
 * response (QR) with the query's ID, opcode and question (names compared
 * without case), whose records all parse; a truncated (TC) reply need only
 * have the right header and question. Anything else is an UpstreamError, so
 * the client gets SERVFAIL rather than garbage relayed, as CoreDNS does.
 */
export function checkReply(query: Buffer, reply: Buffer): Buffer {
  if (reply.length < 12) throw new UpstreamError('upstream reply shorter than a header');
  const flags = reply.readUInt16BE(2);
  if (reply.readUInt16BE(0) !== query.readUInt16BE(0)) throw new UpstreamError('upstream reply has another ID');
  if (!(flags & FLAG.QR) || (flags & 0x7800) !== (query.readUInt16BE(2) & 0x7800)) throw new UpstreamError('upstream reply is not a response to this query');
  const questionEnd = questionEndOf(query);
  if (reply.readUInt16BE(4) !== query.readUInt16BE(4) || reply.length < questionEnd) throw new UpstreamError('upstream reply does not carry the question');
  for (let i = 12; i < questionEnd; i++) {
    if (lowerAscii(reply[i]!) !== lowerAscii(query[i]!)) throw new UpstreamError('upstream reply answers another question');
  }
  if (flags & FLAG.TC) return reply;
  try {
    parseResponse(reply);
  } catch (error) {
    throw new UpstreamError(`upstream reply is malformed: ${(error as Error).message}`);
  }
  return reply;
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** questionEndOf is where the question section of a query we sent or relayed ends. */
function questionEndOf(query: Buffer): number {
  let off = 12;
  for (let i = query.readUInt16BE(4); i > 0; i--) off = readName(query, off).end + 4;
  return off;
}

/** cacheTtl: smallest answer TTL; for NXDOMAIN/NODATA the SOA's minimum; 0 means do not cache. */
function cacheTtl(r: ParsedResponse): number {
  if (r.flags & FLAG.TC) return 0;
  if (r.rcode === RCODE.NOERROR && r.answer.length > 0) return Math.min(MAX_CACHE_TTL, ...r.answer.map((a) => a.ttl));
  if (r.rcode !== RCODE.NOERROR && r.rcode !== RCODE.NXDOMAIN) return 0;
  const soa = r.authority.find((a) => a.type === QTYPE.SOA);
  if (!soa || soa.rdata.length < 4) return 0;
  const minimum = soa.rdata.readUInt32BE(soa.rdata.length - 4);
  return Math.min(MAX_NEGATIVE_TTL, soa.ttl, minimum);
}

function buildQuery(name: string, qtype: number): Buffer {
  const labels = name === '' ? [] : name.split('.');
  const buf = Buffer.alloc(12 + labels.reduce((n, l) => n + 1 + Buffer.byteLength(l), 0) + 1 + 4);
  buf.writeUInt16BE(randomInt(0x10000), 0);
  buf.writeUInt16BE(FLAG.RD, 2);
  buf.writeUInt16BE(1, 4);
  let off = 12;
  for (const label of labels) {
    buf[off] = Buffer.byteLength(label);
    off += 1 + buf.write(label, off + 1);
  }
  buf[off] = 0;
  buf.writeUInt16BE(qtype, off + 1);
  buf.writeUInt16BE(1, off + 3);
  return buf;
}
