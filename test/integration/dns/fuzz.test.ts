/**
 * Acceptance 4: 100,000 random and mutated packets — 60,000 over UDP and
 * 40,000 length-framed over TCP connections (plus raw garbage streams) —
 * then the server must still be running and answer correctly. The random
 * source is seeded so a failure can be replayed (seed in the test log).
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { clusterIPService, createService, dig, startCluster, startFerryDns, udpQuery } from './harness.ts';
import { buildQuery, decode } from '../../unit/dns/helpers.ts';

const Z = 'cluster.local';

/** rng is a small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds = [`web.default.svc.${Z}`, `_http._tcp.web.default.svc.${Z}`, '1.0.96.10.in-addr.arpa', `dns-version.${Z}`, `1-2-3-4.default.pod.${Z}`, `x.y.z.${Z}`];
const types = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'MX', 'ANY', 'AXFR'];

function packet(next: () => number): Buffer {
  const kind = next();
  if (kind < 0.3) {
    const out = Buffer.alloc(Math.floor(next() * 600));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(next() * 256);
    return out;
  }
  const base = buildQuery(seeds[Math.floor(next() * seeds.length)]!, types[Math.floor(next() * types.length)]!, { id: Math.floor(next() * 65536), edns: next() < 0.5 ? Math.floor(next() * 8192) : undefined });
  const out = Buffer.from(base);
  const flips = 1 + Math.floor(next() * 6);
  for (let i = 0; i < flips; i++) out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
  if (kind < 0.45) return out.subarray(0, Math.floor(next() * out.length));
  if (kind < 0.55) return Buffer.concat([out, Buffer.alloc(Math.floor(next() * 40), Math.floor(next() * 256))]);
  if (kind < 0.65) {
    // Header counts set high: the parser must not read past the end.
    out.writeUInt16BE(Math.floor(next() * 65536), 4 + 2 * Math.floor(next() * 4));
  }
  if (kind < 0.75) {
    // A compression pointer somewhere in the name.
    const at = 12 + Math.floor(next() * Math.max(1, out.length - 14));
    out[at] = 0xc0 | Math.floor(next() * 64);
  }
  return out;
}

test('100,000 random and mutated packets over UDP and TCP leave the server up and correct', async (t) => {
  const c = await startCluster(t);
  await createService(c, clusterIPService('default', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.0.50' }));
  const dns = await startFerryDns(t, c.url);
  const seed = Date.now() & 0xffffffff;
  t.log(`seed ${seed}`);
  const next = rng(seed);

  // UDP: 60,000 packets in bursts of 100, paced so the socket buffers do not overflow and the
  // packets reach the parser rather than being shed by the kernel.
  const sock = createSocket('udp4');
  let answered = 0;
  sock.on('message', () => answered++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  for (let burst = 0; burst < 600; burst++) {
    for (let i = 0; i < 100; i++) sock.send(packet(next), dns.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  t.log(`UDP: ${answered} of 60000 packets answered (the rest responses, undecodable without an ID to answer, or shed)`);
  t.true(answered > 60_000 * 0.5, `only ${answered} of 60000 UDP packets answered: the server shed or stopped reading`);
  t.true(dns.alive(), 'alive after UDP fuzz');

  // TCP: 40,000 framed packets. A frame shorter than a DNS header makes the server drop the
  // connection (it cannot trust the stream's framing after that), so each such frame goes on a
  // connection of its own, which must be closed; the others are pipelined, 1,000 a connection, so
  // every one of them reaches the parser; their answers are counted.
  let tcpSent = 0;
  let tcpAnswered = 0;
  let pipelined = 0;
  const short: Buffer[] = [];
  const frame = (p: Buffer) => {
    const f = Buffer.alloc(2 + p.length);
    f.writeUInt16BE(p.length, 0);
    p.copy(f, 2);
    return f;
  };
  const send = async (frames: Buffer[]): Promise<number> => {
    const socket = connect({ host: '127.0.0.1', port: dns.port });
    socket.on('error', () => undefined);
    let answers = 0;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        answers++;
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.end(Buffer.concat(frames));
    await new Promise<void>((r) => socket.once('close', () => r()));
    return answers;
  };
  const framed = async () => {
    const frames: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = packet(next);
      tcpSent++;
      if (p.length < 12) short.push(frame(p));
      else frames.push(frame(p));
    }
    pipelined += frames.length;
    const got = await send(frames);
    tcpAnswered += got;
  };
  const garbage = async () => {
    const socket = connect({ host: '127.0.0.1', port: dns.port });
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const out = Buffer.alloc(4096);
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(next() * 256);
    socket.end(out);
    socket.on('data', () => undefined);
    await new Promise<void>((r) => socket.once('close', () => r()));
  };
  for (let round = 0; round < 10; round++) await Promise.all([framed(), framed(), framed(), framed(), garbage()]);
  for (let i = 0; i < short.length; i += 50) {
    const answers = await Promise.all(short.slice(i, i + 50).map((f) => send([f])));
    t.true(answers.every((n) => n === 0), 'a frame shorter than a header is dropped with its connection');
  }
  t.is(tcpSent, 40_000);
  t.log(`TCP: ${pipelined} pipelined frames, ${tcpAnswered} answered (the rest responses, or undecodable without an ID to answer); ${short.length} short frames each dropped with their connection`);
  // Most mutated queries are answered (records, NXDOMAIN, FORMERR, NOTIMP, REFUSED); a stream the server stopped reading would answer few.
  t.true(tcpAnswered > pipelined * 0.8, `only ${tcpAnswered} of ${pipelined} pipelined frames answered`);
  t.true(dns.alive(), 'alive after TCP fuzz');

  const after = await dig(dns.port, [`web.default.svc.${Z}`, 'A']);
  t.deepEqual(after.answer, [`web.default.svc.${Z}. 30 IN A 10.96.0.50`]);
  const tcpAfter = await dig(dns.port, [`web.default.svc.${Z}`, 'A', '+tcp']);
  t.deepEqual(tcpAfter.answer, [`web.default.svc.${Z}. 30 IN A 10.96.0.50`]);
  const raw = await udpQuery(dns.port, buildQuery(`WEB.default.svc.${Z}`, 'SRV', { id: 7 }));
  t.is(decode(raw!).answer.length, 1, 'SRV without port labels lists its one port');
});
