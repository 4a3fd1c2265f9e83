/**
 * Issue 19, finding 8: the forwarder checks an upstream's reply before
 * relaying it. A fake upstream on loopback answers with the right ID and
 * random bytes, or a well-formed reply to another question, or a reply that
 * is not a response; dig gets SERVFAIL for each, and the real answer when
 * the upstream behaves.
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { DnsServer } from '../../../src/dns/server.ts';
import { DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { fixtureIndex, ZONE } from '../../unit/dns/fixtures.ts';
import { dig } from './harness.ts';

type Mode = 'garbage' | 'other-question' | 'not-a-response' | 'good';

/** reply builds the fake upstream's answer to `query` in `mode` (good: one A record 192.0.2.7). */
function reply(query: Buffer, mode: Mode, random: () => number): Buffer {
  if (mode === 'garbage') {
    const out = Buffer.from(Array.from({ length: 20 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
    query.copy(out, 0, 0, 2);
    return out;
  }
  const qEnd = query.length - (query.readUInt16BE(10) > 0 ? 11 : 0); // the query's OPT record, when dig sends one, is last
  const question = Buffer.from(query.subarray(12, qEnd));
  if (mode === 'other-question') question[1] = question[1] === 0x78 ? 0x79 : 0x78; // first letter of the name changed
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(mode === 'not-a-response' ? 0x0100 : 0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
  return Buffer.concat([header, question, answer]);
}

test('upstream replies that do not answer the query become SERVFAIL; a good one is relayed', async (t) => {
  let mode: Mode = 'good';
  let seed = 19;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const upstream = createSocket('udp4');
  upstream.on('message', (msg, rinfo) => upstream.send(reply(msg, mode, random), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
  const server = await DnsServer.start({
    controller: fixtureIndex(), host: '127.0.0.1', port: 0, zone: ZONE, ttl: 30, podMode: 'insecure',
    upstreams: [{ address: '127.0.0.1', port: upstream.address().port }], upstreamTimeoutMs: 500,
    forwardAllow: DEFAULT_FORWARD_ALLOW, healthAddress: '', readyAddress: '', metricsAddress: '', udpBatch: false,
  });
  t.teardown(async () => {
    upstream.close();
    await server.close();
  });
  const seen: string[] = [];
  for (const m of ['garbage', 'other-question', 'not-a-response'] as const) {
    mode = m;
    for (let i = 0; i < 5; i++) {
      const result = await dig(server.port, [`x${m}${i}.example.org`, 'A', '+noedns']);
      t.is(result.status, 'SERVFAIL', `${m} #${i}: ${result.answer.join(' ')}`);
      t.deepEqual(result.answer, []);
    }
    seen.push(`${m}: SERVFAIL`);
  }
  mode = 'good';
  const good = await dig(server.port, ['xgood.example.org', 'A', '+noedns']);
  t.is(good.status, 'NOERROR');
  t.deepEqual(good.answer, ['xgood.example.org. 60 IN A 192.0.2.7']);
  seen.push(`good: ${good.status} ${good.answer.join(' ')}`);
  t.log(seen.join('; '));
});
