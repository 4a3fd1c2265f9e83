import test from 'ava';
import { Forwarder } from '../../../src/dns/forward.ts';
import { fakeUpstream } from './fake-upstream.ts';
import { buildQuery } from './helpers.ts';

// Forwarder options a Corefile sets: `forward { policy }`, `cache TTL`
// (the longest a response is kept), and no `cache` at all. Upstreams are
// loopback UDP sockets answering every A question with one record of TTL 300.

const upstream = (t: { teardown(fn: () => void): void }) => fakeUpstream(t, 300);

async function ask(f: Forwarder, name: string): Promise<Buffer> {
  const q = buildQuery(name, 'A');
  return f.forward(q, `${name}/A`, q.length, false);
}

test('policy sequential asks the first upstream, round_robin takes turns', async (t) => {
  const [a, b] = [await upstream(t), await upstream(t)];
  const ups = [{ address: '127.0.0.1', port: a.port }, { address: '127.0.0.1', port: b.port }];
  const seq = new Forwarder({ upstreams: ups, timeoutMs: 1000, cacheSize: 0, policy: 'sequential' });
  t.teardown(() => seq.close());
  for (let i = 0; i < 4; i++) await ask(seq, `s${i}.example.`);
  t.deepEqual([a.queries, b.queries], [4, 0]);
  const rr = new Forwarder({ upstreams: ups, timeoutMs: 1000, cacheSize: 0, policy: 'round_robin' });
  t.teardown(() => rr.close());
  for (let i = 0; i < 4; i++) await ask(rr, `r${i}.example.`);
  t.deepEqual([a.queries, b.queries], [6, 2]);
});

test('cache TTL caps how long an answer is kept; without cache nothing is kept', async (t) => {
  const u = await upstream(t);
  const capped = new Forwarder({ upstreams: [{ address: '127.0.0.1', port: u.port }], timeoutMs: 1000, cacheSize: 100, maxTtl: 1 });
  t.teardown(() => capped.close());
  await ask(capped, 'a.example.');
  await ask(capped, 'a.example.');
  t.is(u.queries, 1, 'the second answer came from the cache');
  await new Promise((r) => setTimeout(r, 1100));
  await ask(capped, 'a.example.');
  t.is(u.queries, 2, 'kept 1 s, not the record TTL of 300 s');
  const none = new Forwarder({ upstreams: [{ address: '127.0.0.1', port: u.port }], timeoutMs: 1000, cacheSize: 0 });
  t.teardown(() => none.close());
  await ask(none, 'b.example.');
  await ask(none, 'b.example.');
  t.is(u.queries, 4);
});

test('success MINTTL keeps an answer at least that long, even under the TTL cap', async (t) => {
  const u = await upstream(t);
  const f = new Forwarder({ upstreams: [{ address: '127.0.0.1', port: u.port }], timeoutMs: 1000, cacheSize: 100, maxTtl: 1, minTtl: 2 });
  t.teardown(() => f.close());
  await ask(f, 'm.example.');
  await new Promise((r) => setTimeout(r, 1200));
  await ask(f, 'm.example.');
  t.is(u.queries, 1, 'still cached after 1.2 s');
});
