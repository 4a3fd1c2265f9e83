/**
 * Acceptance 3: a headless service with 200 endpoints. Over UDP without
 * EDNS the answer is truncated (TC) but keeps as many whole records as fit
 * in 512 bytes; over TCP all 200 come back; and A+AAAA sent on one TCP
 * connection (as glibc does) are both answered.
 */
import test from 'ava';
import { connect } from 'node:net';
import { Cleanup, clusterIPService, createService, createSlice, dig, slice, startCluster, startFerryDns } from './harness.ts';
import { buildQuery, decode } from '../../unit/dns/helpers.ts';

const Z = 'cluster.local';
const NAME = `big.default.svc.${Z}`;
const cleanup = new Cleanup();
let port = 0;

test.before(async () => {
  const c = await startCluster(cleanup);
  await createService(c, clusterIPService('default', 'big', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  const endpoints = Array.from({ length: 200 }, (_, i) => ({ addresses: [`172.20.${Math.floor(i / 200)}.${(i % 200) + 1}`], conditions: { ready: true } }));
  await createSlice(c, slice('default', 'big', 'big-1', endpoints, [{ name: 'http', port: 80 }]));
  port = (await startFerryDns(cleanup, c.url)).port;
});
test.after.always(() => cleanup.run());

test('UDP without EDNS: TC with as many whole records as fit', async (t) => {
  const got = await dig(port, [NAME, 'A', '+noedns', '+ignore']);
  t.true(got.flags.includes('tc'), `flags ${got.flags.join(' ')}`);
  // 12 header + 34 question (30-byte name) + 29 × 16-byte records (compressed owner) = 510 <= 512.
  t.is(got.answer.length, 29);
});

test('TCP: all 200 records', async (t) => {
  const got = await dig(port, [NAME, 'A', '+tcp']);
  t.false(got.flags.includes('tc'));
  t.is(got.answer.length, 200);
});

test('EDNS 4096 over UDP: all 200 records', async (t) => {
  const got = await dig(port, [NAME, 'A', '+bufsize=4096', '+ignore']);
  t.false(got.flags.includes('tc'));
  t.is(got.answer.length, 200);
});

test('A and AAAA pipelined on one TCP connection are both answered', async (t) => {
  const frames = [buildQuery(NAME, 'A', { id: 1 }), buildQuery(NAME, 'AAAA', { id: 2 })].map((q) => {
    const f = Buffer.alloc(2 + q.length);
    f.writeUInt16BE(q.length, 0);
    q.copy(f, 2);
    return f;
  });
  const responses = await new Promise<Buffer[]>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const out: Buffer[] = [];
    socket.on('error', reject);
    socket.setTimeout(3000, () => reject(new Error('timeout')));
    socket.on('connect', () => socket.write(Buffer.concat(frames)));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        out.push(data.subarray(2, 2 + data.readUInt16BE(0)));
        data = data.subarray(2 + data.readUInt16BE(0));
      }
      if (out.length === 2) {
        socket.end();
        resolve(out);
      }
    });
  });
  const byId = new Map(responses.map((r) => [decode(r).id, decode(r)]));
  t.is(byId.get(1)?.answer.length, 200);
  t.is(byId.get(2)?.rcode, 'NOERROR');
  t.is(byId.get(2)?.answer.length, 0, 'AAAA of an IPv4-only headless service is NODATA');
  // dig's own keep-open TCP: two questions on one connection.
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('dig', ['-p', String(port), '@127.0.0.1', '+tcp', '+keepopen', '+tries=1', '+time=3', NAME, 'A', NAME, 'AAAA'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  t.is((out.match(/status: NOERROR/g) ?? []).length, 2);
});
