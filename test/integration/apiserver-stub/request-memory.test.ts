/**
 * Issue 19: a bound on memory per request. A YAML body whose aliases expand
 * past kube's 3 MiB object limit is a 413 decided on the YAML worker, so the
 * expansion never reaches the main thread; a list of large objects is
 * streamed item by item as the client reads, so it does not hold the whole
 * response as text; small lists are still sent whole with a Content-Length.
 */
import test from 'ava';
import { request } from 'node:http';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServer } from './server-fixture.ts';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('a YAML body whose aliases expand past 3 MiB is a 413, answered at once', async (t) => {
  const { url } = await startServer(t);
  const big = 'x'.repeat(512 * 1024);
  // 0.5 MiB of text, 30 MiB once its 60 aliases are expanded.
  const body = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: &big "${big}"\n${Array.from({ length: 60 }, (_, i) => `  b${i}: *big\n`).join('')}`;
  const started = performance.now();
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
  const status = (await res.json()) as { reason: string; message: string };
  t.is(res.status, 413);
  t.is(status.reason, 'RequestEntityTooLarge');
  t.regex(status.message, /decodes to an object of \d+ bytes \(aliases expanded\), larger than the limit of 3145728 bytes/);
  t.true(performance.now() - started < 5000);
  t.is((await fetch(`${url}/api/v1/namespaces/default/configmaps/bomb`)).status, 404);
  // A few aliases that stay under the limit are fine.
  const small = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata:\n  a: &v "${'y'.repeat(1000)}"\n  b: *v\n`;
  t.is((await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: small })).status, 201);
});

/** slowList reads a list over a raw request, 1 MiB every 5 ms, sampling the live heap (after a full collection) as it goes. */
function slowList(url: string): Promise<{ headers: Record<string, unknown>; body: string; peakHeap: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/namespaces/default/configmaps`, (res) => {
      const chunks: Buffer[] = [];
      let peakHeap = 0;
      res.on('readable', function read() {
        const chunk = res.read(1024 * 1024) as Buffer | null;
        if (chunk) chunks.push(chunk);
        gc();
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        if (chunk) setTimeout(read, 5);
      });
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), peakHeap }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a list of large objects is streamed as the client reads, holding about one object as text; small lists keep a Content-Length', async (t) => {
  t.timeout(120_000);
  const { url } = await startServer(t);
  const small = await fetch(`${url}/api/v1/namespaces/default/configmaps`);
  t.truthy(small.headers.get('content-length'));
  await small.arrayBuffer();

  const value = 'z'.repeat(2_500_000);
  for (let i = 0; i < 8; i++) {
    const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: `big-${i}` }, data: { v: value } }) });
    t.is(res.status, 201);
  }
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const { headers, body, peakHeap } = await slowList(url);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
  // The response text is ~20 MB; the client's own chunks (held until the end) count once, as Buffers outside the heap.
  t.log(`list of 8 x 2.5 MB: ${mb(body.length)} streamed; live heap before ${mb(heapBefore)}, peak while reading ${mb(peakHeap)} (+${mb(peakHeap - heapBefore)})`);
  t.is(headers['content-length'], undefined);
  t.is(headers['transfer-encoding'], 'chunked');
  const list = JSON.parse(body) as { items: Array<{ metadata: { name: string }; data: { v: string } }>; metadata: { resourceVersion: string } };
  t.deepEqual(list.items.map((i) => i.metadata.name), Array.from({ length: 8 }, (_, i) => `big-${i}`));
  t.true(list.items.every((i) => i.data.v === value));
  // Sent whole, the response text alone (~19 MB) stays live until the client has read it all.
  t.true(peakHeap - heapBefore < 8 * 2 ** 20, `heap grew by ${mb(peakHeap - heapBefore)} while a ${mb(body.length)} list was read`);

  const page = (await (await fetch(`${url}/api/v1/namespaces/default/configmaps?limit=3`)).json()) as { items: unknown[]; metadata: { continue?: string } };
  t.is(page.items.length, 3);
  t.truthy(page.metadata.continue);
});

test('a streamed list of many small objects goes out in chunks and reaches a slow reader whole', async (t) => {
  t.timeout(120_000);
  const { url } = await startServer(t);
  const value = 'k'.repeat(2000);
  const names = Array.from({ length: 1500 }, (_, i) => `small-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map(async (name) => {
      const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name }, data: { v: value } }) });
      t.is(res.status, 201);
    }));
  }
  // ~3 MB: past the whole-response bound, so streamed; the reader takes 1 MiB per 5 ms, so the server waits on it.
  const { headers, body } = await slowList(url);
  t.is(headers['transfer-encoding'], 'chunked');
  const list = JSON.parse(body) as { items: Array<{ metadata: { name: string }; data: { v: string } }> };
  t.deepEqual(list.items.map((i) => i.metadata.name), names);
  t.true(list.items.every((i) => i.data.v === value));
});
