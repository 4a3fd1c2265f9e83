/**
 * Issue 19: per-watch timeouts as kube-apiserver's. A watch ends after the
 * client's timeoutSeconds, or, without one, after --min-request-timeout times
 * a random factor in [1, 2); the stream ends cleanly and a client re-watches
 * from where it was. (kube has no bound on concurrent watches per client:
 * watches are long-running requests, outside --max-requests-inflight.)
 */
import test from 'ava';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { watchTimeoutMs } from '../../../src/apiserver-stub/handlers/watch.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { Informer } from '../../../src/client/informer.ts';
import { startServer } from './server-fixture.ts';

test('watchTimeoutMs: timeoutSeconds wins; without it (or 0) min-request-timeout with jitter in [1x, 2x); 0 is no end', (t) => {
  t.is(watchTimeoutMs(5, 1_800_000), 5000);
  const draws = Array.from({ length: 2000 }, () => watchTimeoutMs(undefined, 1_800_000));
  t.true(draws.every((ms) => ms >= 1_800_000 && ms < 3_600_000));
  t.true(Math.min(...draws) < 1_900_000 && Math.max(...draws) > 3_500_000, 'spread over the whole range');
  t.is(watchTimeoutMs(0, 1000, () => 0.5), 1500);
  t.is(watchTimeoutMs(undefined, 0), 0);
});

/** watchFor opens a raw watch and resolves, when the server ends it, with its duration and the lines it sent. */
async function watchFor(url: string, query: string): Promise<{ ms: number; lines: string[] }> {
  const started = performance.now();
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps?watch=true${query}`);
  const text = await res.text(); // resolves only when the stream ends cleanly (a reset would reject)
  return { ms: performance.now() - started, lines: text.split('\n').filter((l) => l !== '') };
}

test('a watch without timeoutSeconds ends cleanly after 1-2x --min-request-timeout; timeoutSeconds overrides it', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { minRequestTimeoutMs: 400 });
  await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'a' } }) });
  const ended = await Promise.all(Array.from({ length: 12 }, () => watchFor(url, '')));
  const durations = ended.map((w) => Math.round(w.ms));
  t.log(`12 watches ended after ${durations.sort((a, b) => a - b).join(', ')} ms`);
  t.true(durations.every((ms) => ms >= 390 && ms < 1300), `durations ${durations.join(', ')}`);
  t.true(Math.max(...durations) - Math.min(...durations) > 50, 'the ends are spread (jitter)');
  t.true(ended.every((w) => w.lines.length === 1 && JSON.parse(w.lines[0]!).type === 'ADDED'));
  const explicit = await watchFor(url, '&timeoutSeconds=2');
  t.true(explicit.ms >= 1950 && explicit.ms < 3000, `timeoutSeconds=2 ended after ${explicit.ms} ms`);
});

test('an informer re-watches across server-ended watches and misses nothing', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { minRequestTimeoutMs: 300 });
  const client = new ApiClient({ server: url });
  // timeoutSeconds 0: the server's --min-request-timeout decides when each watch ends.
  const informer = new Informer<ConfigMap>({ client, resource: resources.configmaps, namespace: 'default', watchTimeoutSeconds: () => 0 });
  t.teardown(async () => {
    await informer.stop();
    await client.close();
  });
  informer.start();
  await informer.synced;
  // Writes spread over ~2.4 s: several watches end (each after 300-600 ms) while they go on.
  for (let i = 0; i < 12; i++) {
    await client.create(resources.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'default' } });
    await new Promise((r) => setTimeout(r, 200));
  }
  const deadline = Date.now() + 5000;
  while (informer.store.size < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is(informer.store.size, 12);
});
