import test from 'ava';
import { connect, type Socket } from 'node:net';
import type { PacketHandler } from '../../../../src/dns/packet-handler.ts';
import { TcpServer } from '../../../../src/dns/server-tcp.ts';
import { buildQuery } from '../helpers.ts';

// The TCP server's side of a zone transfer (transfer.ts builds the
// messages): they are pulled one at a time as the client reads, so a client
// that does not read holds up only what the socket buffers take, and an
// answer to a query pipelined behind the transfer comes after its last message.

const MESSAGES = 1000;
const SIZE = 60_000;

/** frames reads length-prefixed messages from `socket` until `count` arrived. */
function frames(socket: Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        got.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (got.length >= count) resolve(got);
    });
    socket.on('error', reject);
  });
}

test('a transfer is written as the client reads, and a pipelined answer follows its last message', async (t) => {
  let pulled = 0;
  function* messages(): Generator<Buffer> {
    for (let i = 0; i < MESSAGES; i++) {
      pulled++;
      const m = Buffer.alloc(SIZE);
      m.writeUInt16BE(i, 0);
      yield m;
    }
  }
  const handler: PacketHandler = { handle: (packet) => Buffer.concat([Buffer.from([0xab, 0xcd]), packet.subarray(2)]) };
  const server = new TcpServer(handler, {
    idleTimeoutMs: 5000, maxConnections: 10,
    transfer: { messages: (packet) => (packet.readUInt16BE(packet.length - 4) === 252 ? messages() : undefined) },
  });
  const port = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  socket.pause();
  const frame = (q: Buffer) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  socket.write(Buffer.concat([frame(buildQuery('cluster.local.', 'AXFR')), frame(buildQuery('svc.cluster.local.', 'A'))]));
  await new Promise((r) => setTimeout(r, 300));
  // Not reading: only what the kernel's socket buffers hold was built.
  t.log(`${pulled} of ${MESSAGES} messages built before the client read any`);
  t.true(pulled < MESSAGES / 3, `${pulled} of ${MESSAGES} messages built before the client read any`);
  const got = frames(socket, MESSAGES + 1);
  socket.resume();
  const all = await got;
  t.is(pulled, MESSAGES);
  t.deepEqual(all.slice(0, MESSAGES).map((m) => m.readUInt16BE(0)), Array.from({ length: MESSAGES }, (_, i) => i), 'in order');
  t.is(all[MESSAGES]!.readUInt16BE(0), 0xabcd, 'the pipelined answer comes after the transfer');
});
