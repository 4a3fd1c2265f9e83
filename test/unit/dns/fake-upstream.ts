import { createSocket } from 'node:dgram';

/** FakeUpstream is a loopback UDP resolver that answers every question with one A record, 192.0.2.1. */
export interface FakeUpstream {
  port: number;
  /** Questions it has been asked. */
  queries: number;
}

/** fakeUpstream starts a FakeUpstream whose record has TTL `ttl` seconds; it is closed in teardown. */
export async function fakeUpstream(t: { teardown(fn: () => void): void }, ttl: number): Promise<FakeUpstream> {
  const socket = createSocket('udp4');
  const u: FakeUpstream = { port: 0, queries: 0 };
  socket.on('message', (q, rinfo) => {
    u.queries++;
    const header = Buffer.from(q.subarray(0, 12));
    header.writeUInt16BE(0x8180, 2);
    header.writeUInt16BE(1, 6);
    header.writeUInt16BE(0, 10);
    const questionEnd = q.indexOf(0, 12) + 5;
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1]);
    answer.writeUInt32BE(ttl, 6);
    socket.send(Buffer.concat([header, q.subarray(12, questionEnd), answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', () => ok()));
  u.port = socket.address().port;
  t.teardown(() => socket.close());
  return u;
}
