import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { TcpEngine, type EngineReports } from '../../../src/userspace/engine/engine.ts';
import { AF_INET, SOCK_CLOEXEC, SOCK_STREAM, libc, sockaddrIn } from '../../../src/userspace/engine/libc.ts';

const MSG_OOB = 1;
import { UdpProxy, type UdpStats } from '../../../src/userspace/udp-proxy.ts';
import { loadScale } from '../../helpers/load.ts';

// TCP (engine threads) and UDP proxying on loopback: retries, timeouts, half-close, draining, sessions.

/** engine starts a TcpEngine whose reports are summed in `seen`; `open` is the last open count per thread. */
function engine(t: import('ava').ExecutionContext, threads = 1) {
  const seen = { accepted: 0, dialFailures: 0, noEndpoint: 0 };
  const open = new Map<number, number>();
  const sum = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
  const reports: EngineReports = {
    onReport(thread, r) {
      seen.accepted += sum(r.accepted);
      seen.dialFailures += sum(r.dialFailures);
      seen.noEndpoint += sum(r.noEndpoint);
      open.set(thread, sum(r.open));
    },
  };
  const tcp = new TcpEngine(threads, reports);
  t.teardown(() => tcp.close());
  const openTotal = () => [...open.values()].reduce((a, b) => a + b, 0);
  return { tcp, seen, openTotal };
}

/** eventually polls cond for up to `ms` (engine threads report at most every 100 ms). */
async function eventually(cond: () => boolean, ms = 2_000): Promise<boolean> {
  for (let i = 0; i < ms / 20 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

async function listen(t: import('ava').ExecutionContext, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

/** namedEcho answers every connection with its name and closes. */
function namedEcho(name: string): Server {
  return createServer((s) => s.end(name));
}

/** halfCloseEcho answers, after the client's FIN, with everything it received, then closes. */
function halfCloseEcho(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    // A proxy that resets its side (a dead engine thread's connections) resets this one.
    s.on('error', () => {});
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

/** listenTo connects, sends nothing, and resolves with what arrived once the stream ended, or 'stalled' after timeoutMs. */
function listenTo(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      resolve('stalled');
    }, timeoutMs);
    c.on('data', (b: Buffer) => (got += b.toString()));
    c.on('error', () => {});
    c.on('end', () => {
      clearTimeout(timer);
      c.destroy();
      resolve(got);
    });
  });
}

/**
 * blackHole returns a loopback port whose SYNs go unanswered: a listening
 * socket with a backlog of 0 that never accepts, its queue already full.
 */
async function blackHole(t: import('ava').ExecutionContext): Promise<number> {
  const sys = libc();
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  t.teardown(() => sys.close(fd));
  sys.bind(fd, sockaddrIn('127.0.0.1', 0), 16);
  sys.listen(fd, 0);
  const addr = Buffer.alloc(16);
  sys.getsockname(fd, addr, Buffer.from([16, 0, 0, 0]));
  const port = addr.readUInt16BE(2);
  for (let i = 0; i < 2; i++) {
    const filler = connect({ port, host: '127.0.0.1' });
    filler.on('error', () => {});
    t.teardown(() => filler.destroy());
  }
  await new Promise((r) => setTimeout(r, 100));
  return port;
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
  const { tcp, seen, openTotal } = engine(t);
  const listener = tcp.listen('t/echo:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  t.is(await exchange(listener.port, 'hello'), 'echo:hello');
  t.true(await eventually(() => seen.accepted === 1 && openTotal() === 0), 'the connection is counted, then counted closed');
});

test('a refused endpoint is retried on the next one: every connection succeeds', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const { tcp, seen } = engine(t);
  const listener = tcp.listen('t/echo:', '127.0.0.1', 0, [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${backend}`], 0);
  for (let i = 0; i < 6; i++) t.is(await exchange(listener.port, `m${i}`), `echo:m${i}`);
  t.true(await eventually(() => seen.dialFailures >= 2));
});

test('an endpoint that never answers the SYN times out after 250 ms and the next one serves', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const { tcp, seen } = engine(t);
  const listener = tcp.listen('t/echo:', '127.0.0.1', 0, [`127.0.0.1:${await blackHole(t)}`, `127.0.0.1:${backend}`], 0);
  t.is(await exchange(listener.port, 'warm-up'), 'echo:warm-up');
  const took: number[] = [];
  for (let i = 0; i < 4; i++) {
    const started = Date.now();
    t.is(await exchange(listener.port, `m${i}`), `echo:m${i}`);
    took.push(Date.now() - started);
  }
  // 600 ms leaves room for the event loop on an idle machine; scaled when other jobs share the cores.
  t.true(took.every((ms) => ms < 600 * loadScale()), `no attempt waits past its 250 ms timeout: ${took.join(', ')} ms`);
  t.true(took.filter((ms) => ms >= 240).length >= 1, `round-robin sent some clients to the black hole first: ${took.join(', ')} ms`);
  t.true(await eventually(() => seen.dialFailures >= 2));
});

test('no endpoint: the client is closed without data', async (t) => {
  const { tcp, seen } = engine(t);
  const listener = tcp.listen('t/none:', '127.0.0.1', 0, [], 0);
  t.is(await exchange(listener.port, 'x'), '');
  t.true(await eventually(() => seen.noEndpoint === 1));
});

test('endpoint removal and listener close drain: an open connection keeps working', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const { tcp } = engine(t);
  const listener = tcp.listen('t/echo:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  const c = connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  c.on('data', (b: Buffer) => chunks.push(b));
  c.write('before ');
  await new Promise((r) => setTimeout(r, 50));
  listener.update([], 0);
  await listener.close();
  c.end('after');
  await once(c, 'close');
  t.is(Buffer.concat(chunks).toString(), 'echo:before after');
  await t.throwsAsync(exchange(listener.port, 'x').then((got) => (got === '' ? Promise.reject(new Error('refused')) : got)), undefined, 'the closed listener accepts nothing');
});

test('two threads share a listener; a ClientIP-affinity service keeps every client on one endpoint', async (t) => {
  const backends = [await listen(t, namedEcho('a')), await listen(t, namedEcho('b')), await listen(t, namedEcho('c'))];
  const { tcp } = engine(t, 2);
  const endpoints = backends.map((p) => `127.0.0.1:${p}`);
  const spread = tcp.listen('t/spread:', '127.0.0.1', 0, endpoints, 0);
  const pinned = tcp.listen('t/pinned:', '127.0.0.1', 0, endpoints, 10_000);
  const answers = async (port: number) => new Set(await Promise.all(Array.from({ length: 30 }, () => exchange(port, ''))));
  t.deepEqual([...(await answers(spread.port))].sort(), ['a', 'b', 'c']);
  t.is((await answers(pinned.port)).size, 1);
  // Affinity off: the service is given to both threads and spreads again.
  pinned.update(endpoints, 0);
  t.deepEqual([...(await answers(pinned.port))].sort(), ['a', 'b', 'c']);
});

test('an engine thread that dies: its connections are closed, and it is started again with its listeners', async (t) => {
  const backend = await listen(t, halfCloseEcho());
  const { tcp, openTotal } = engine(t);
  const listener = tcp.listen('t/echo:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  t.is(await exchange(listener.port, 'before'), 'echo:before');
  const held = connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true });
  held.on('error', () => {});
  held.write('held open');
  t.true(await eventually(() => openTotal() === 1), 'the held connection is proxied');
  const ended = new Promise((resolve) => held.on('close', resolve));
  // Reach the thread as a crash would: from outside the loop.
  const threads = (tcp as unknown as { threads: Array<{ worker: import('node:worker_threads').Worker }> }).threads;
  await threads[0]!.worker.terminate();
  await ended;
  t.pass("the dead thread's connection was reset, not left hanging");
  t.is(openTotal(), 0, 'and no longer counted');
  t.is(await exchange(listener.port, 'after'), 'echo:after', 'the connection waited in the accept queue for the new thread');
});

test('a backend that writes and closes at once: 300 concurrent clients each get its data and the FIN', async (t) => {
  const backend = await listen(t, createServer((s) => s.end('hello')));
  const { tcp, openTotal } = engine(t);
  const listener = tcp.listen('t/hello:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  // The engine thread may take seconds to start on a busy machine; the race is about the 300 at once.
  t.is(await listenTo(listener.port, 30_000), 'hello', 'the engine answers');
  const got = await Promise.all(Array.from({ length: 300 }, () => listenTo(listener.port, 10_000)));
  t.is(got.filter((g) => g === 'hello').length, 300, 'every client got the data and the end of the stream');
  t.true(await eventually(() => openTotal() === 0, 10_000), 'no connection is left open');
});

test('urgent data (MSG_OOB) does not stall a flow: the bytes around it arrive, the urgent byte is dropped', async (t) => {
  const received: Buffer[] = [];
  const backend = await listen(t, createServer((s) => s.on('data', (b: Buffer) => received.push(b))));
  const { tcp } = engine(t);
  const listener = tcp.listen('t/oob:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  const c = connect({ port: listener.port, host: '127.0.0.1' });
  t.teardown(() => c.destroy());
  await once(c, 'connect');
  // node:net cannot send urgent data: send on its descriptor directly ('!' is the urgent byte).
  const fd = (c as unknown as { _handle: { fd: number } })._handle.fd;
  libc().send(fd, Buffer.from('a!'), 2, MSG_OOB);
  c.write('world');
  t.true(await eventually(() => Buffer.concat(received).toString() === 'aworld'), `backend got ${JSON.stringify(Buffer.concat(received).toString())}`);
});

test('1 MiB each way through the engine arrives intact (the bulk path: splice)', async (t) => {
  const payload = Buffer.alloc(1 << 20, 0);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
  const backend = await listen(t, createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
  const { tcp } = engine(t);
  const listener = tcp.listen('t/bulk:', '127.0.0.1', 0, [`127.0.0.1:${backend}`], 0);
  const c = connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  c.on('data', (b: Buffer) => chunks.push(b));
  c.end(payload);
  await once(c, 'close');
  t.true(Buffer.concat(chunks).equals(payload));
});

function udpEcho(t: import('ava').ExecutionContext): Promise<number> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  t.teardown(() => s.close());
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
}

test('UDP: a client session forwards both ways and closes after the idle timeout', async (t) => {
  let open = 0;
  const stats: UdpStats = { onSessionOpened: () => void open++, onSessionClosed: () => void open--, onNoEndpoint: () => {} };
  const proxy = await UdpProxy.open('t/udp:', '127.0.0.1', 0, 100, stats);
  proxy.update([`127.0.0.1:${await udpEcho(t)}`], 0);
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
