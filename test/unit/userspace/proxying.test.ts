import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { ConnectionCounts } from '../../../src/userspace/connection-counts.ts';
import { RoundRobin } from '../../../src/userspace/load-balancer.ts';
import { TcpProxy, type TcpStats } from '../../../src/userspace/tcp-proxy.ts';
import { UdpProxy, type UdpStats } from '../../../src/userspace/udp-proxy.ts';

// TCP and UDP proxying on loopback: retries, half-close, draining, sessions.

function tcpStats() {
  const seen = { accepted: 0, dialFailures: 0, noEndpoint: 0 };
  const stats: TcpStats = {
    counts: new ConnectionCounts(),
    onAccepted: () => void seen.accepted++,
    onDialFailure: () => void seen.dialFailures++,
    onNoEndpoint: () => void seen.noEndpoint++,
  };
  return { stats, seen };
}

async function listen(t: import('ava').ExecutionContext, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

/** halfCloseEcho answers, after the client's FIN, with everything it received, then closes. */
function halfCloseEcho(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('echo:'), ...got])));
  });
}

async function exchange(port: number, payload: string): Promise<string> {
  const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  c.on('data', (b: Buffer) => chunks.push(b));
  // A proxy with no endpoint resets the client; what arrived is the answer.
  c.on('error', () => {});
  c.end(payload);
  await once(c, 'close');
  return Buffer.concat(chunks).toString();
}

/** deadPort returns a loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('half-close: the client FIN reaches the backend and its answer still comes back', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const lb = new RoundRobin();
  lb.setEndpoints([`127.0.0.1:${backend}`]);
  const { stats } = tcpStats();
  const proxy = await TcpProxy.open('t/echo:', { host: '127.0.0.1', port: 0 }, lb, stats);
  t.teardown(() => proxy.close());
  t.is(await exchange(proxy.port, 'hello'), 'echo:hello');
  t.is(stats.counts.size, 0, 'the connection is counted closed');
});

test('a refused endpoint is retried on the next one: every connection succeeds', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const lb = new RoundRobin();
  lb.setEndpoints([`127.0.0.1:${await deadPort()}`, `127.0.0.1:${backend}`]);
  const { stats, seen } = tcpStats();
  const proxy = await TcpProxy.open('t/echo:', { host: '127.0.0.1', port: 0 }, lb, stats);
  t.teardown(() => proxy.close());
  for (let i = 0; i < 6; i++) t.is(await exchange(proxy.port, `m${i}`), `echo:m${i}`);
  t.true(seen.dialFailures >= 2);
});

test('no endpoint: the client is closed without data', async (t) => {
  const { stats, seen } = tcpStats();
  const proxy = await TcpProxy.open('t/none:', { host: '127.0.0.1', port: 0 }, new RoundRobin(), stats);
  t.teardown(() => proxy.close());
  t.is(await exchange(proxy.port, 'x'), '');
  t.is(seen.noEndpoint, 1);
});

test('endpoint removal and listener close drain: an open connection keeps working', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const lb = new RoundRobin();
  lb.setEndpoints([`127.0.0.1:${backend}`]);
  const { stats } = tcpStats();
  const proxy = await TcpProxy.open('t/echo:', { host: '127.0.0.1', port: 0 }, lb, stats);
  const c = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  c.on('data', (b: Buffer) => chunks.push(b));
  c.write('before ');
  await new Promise((r) => setTimeout(r, 50));
  lb.setEndpoints([]);
  await proxy.close();
  c.end('after');
  await once(c, 'close');
  t.is(Buffer.concat(chunks).toString(), 'echo:before after');
});

function udpEcho(t: import('ava').ExecutionContext): Promise<number> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  t.teardown(() => s.close());
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
}

test('UDP: a client session forwards both ways and closes after the idle timeout', async (t) => {
  const lb = new RoundRobin();
  lb.setEndpoints([`127.0.0.1:${await udpEcho(t)}`]);
  let open = 0;
  const stats: UdpStats = { onSessionOpened: () => void open++, onSessionClosed: () => void open--, onNoEndpoint: () => {} };
  const proxy = await UdpProxy.open('t/udp:', '127.0.0.1', 0, lb, 100, stats);
  t.teardown(() => proxy.close());
  const client = createSocket('udp4');
  t.teardown(() => client.close());
  client.send('ping', proxy.port, '127.0.0.1');
  const [reply] = (await once(client, 'message')) as [Buffer];
  t.is(reply.toString(), 'echo:ping');
  t.is(proxy.sessionCount, 1);
  t.is(open, 1);
  await new Promise((r) => setTimeout(r, 300));
  t.is(proxy.sessionCount, 0);
  t.is(open, 0);
});
