/**
 * Issue 19, finding 6: DNS over TCP cannot be blocked by slow clients. 1,000
 * connections (the server's cap) from 50 loopback addresses each trickle one
 * byte a second and reconnect when closed; `dig +tcp` from another address
 * must still get its answer. Before, every byte reset the idle timer and the
 * cap refused everyone else.
 */
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { DnsServer } from '../../../src/dns/server.ts';
import { DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { fixtureIndex, ZONE } from '../../unit/dns/fixtures.ts';
import { dig } from './harness.ts';

test('a slow-byte flood of 1,000 TCP connections leaves dig +tcp answered', async (t) => {
  const server = await DnsServer.start({
    controller: fixtureIndex(), host: '127.0.0.1', port: 0, zone: ZONE, ttl: 30, podMode: 'insecure', upstreams: [],
    forwardAllow: DEFAULT_FORWARD_ALLOW, healthAddress: '', readyAddress: '', metricsAddress: '', udpBatch: false,
  });
  let stopped = false;
  const sockets = new Set<Socket>();
  let closedByServer = 0;
  const trickle = (localAddress: string): void => {
    if (stopped) return;
    const socket = connect({ host: '127.0.0.1', port: server.port, localAddress });
    sockets.add(socket);
    // A frame announcing 512 bytes, sent one byte a second: never a whole message.
    const timer = setInterval(() => socket.write(Buffer.from([0x02])), 1000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
      closedByServer++;
      setTimeout(() => trickle(localAddress), 50);
    });
  };
  t.teardown(async () => {
    stopped = true;
    for (const s of sockets) s.destroy();
    await server.close();
  });
  for (let i = 0; i < 1000; i++) trickle(`127.0.0.${10 + (i % 50)}`);
  await new Promise((r) => setTimeout(r, 4000));
  const name = `svc1.testns.svc.${ZONE}`;
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    const result = await dig(server.port, [name, 'A', '+tcp', '-b', '127.0.0.200']);
    answers.push(`${result.status} ${result.answer.join(' ')} in ${Date.now() - started} ms`);
    t.deepEqual(result.answer, [`${name}. 30 IN A 10.0.0.1`]);
  }
  t.log(`flood: ${sockets.size} open, ${closedByServer} closed by the server; dig +tcp: ${answers.join('; ')}`);
  t.true(closedByServer >= 1000, 'the trickling connections were cut by the per-message deadline');
});

test('connections from one address are capped; others still connect', async (t) => {
  const server = await DnsServer.start({
    controller: fixtureIndex(), host: '127.0.0.1', port: 0, zone: ZONE, ttl: 30, podMode: 'insecure', upstreams: [],
    forwardAllow: DEFAULT_FORWARD_ALLOW, healthAddress: '', readyAddress: '', metricsAddress: '', udpBatch: false,
  });
  const sockets: Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await server.close();
  });
  const open = (localAddress: string) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: server.port, localAddress });
      sockets.push(s);
      s.on('error', () => resolve(false));
      s.on('close', () => resolve(false));
      s.on('connect', () => setTimeout(() => resolve(!s.destroyed), 300));
    });
  const results = await Promise.all(Array.from({ length: 120 }, () => open('127.0.0.7')));
  const kept = results.filter(Boolean).length;
  t.is(kept, 100, 'the per-source cap of 100');
  t.deepEqual((await dig(server.port, [`svc1.testns.svc.${ZONE}`, 'A', '+tcp', '-b', '127.0.0.8'])).answer, [`svc1.testns.svc.${ZONE}. 30 IN A 10.0.0.1`]);
});
