import test from 'ava';
import { PassThrough } from 'node:stream';
import { ApiClient } from '../../../src/client/api-client.ts';
import { DryRunProxier } from '../../../src/endpoints/dry-run-proxier.ts';
import { ProxierHealth } from '../../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import { FaultProxy, TestApiserver, duplicates, stateDiff, truth, until } from './fixtures.ts';
import { Workload } from './workload.ts';

// Acceptance 2: a TCP fault proxy between watcher and apiserver cuts
// connections at random; the apiserver restarts; a forced compaction makes the
// resume get 410. After each fault the state converges to the API truth
// within 1 s of the apiserver being reachable, with no lost or duplicated endpoint.
test('converges within 1 s after cuts, apiserver restarts and a compaction', async (t) => {
  const api = new TestApiserver();
  await api.start();
  const direct = new ApiClient({ server: api.url });
  const proxy = new FaultProxy(api.port);
  const watcherClient = new ApiClient({ server: await proxy.listen() }, { requestTimeoutMs: 5000 });
  const loop = new ProxyLoop({
    client: watcherClient, proxier: new DryRunProxier(new PassThrough().resume()), nodeName: 'node-a',
    minSyncPeriodMs: 100, syncPeriodMs: 30_000, configSyncPeriodMs: 0, metrics: new ProxyMetrics(), health: new ProxierHealth({ healthTimeoutMs: 60_000 }),
  });
  let directClient = direct;
  t.teardown(async () => {
    await loop.stop();
    await watcherClient.close();
    await directClient.close();
    await proxy.close();
    await api.destroy();
  });
  const workload = new Workload(directClient);
  await workload.ensureNamespaces();
  for (let i = 0; i < 60; i++) await workload.createService();
  loop.start();

  /** converge: wait until the watcher equals a fresh list; returns ms taken. */
  const converge = async (what: string, limitMs: number, since = Date.now()) => {
    const want = await truth(directClient, 'node-a');
    const ms = await until(() => stateDiff(loop.lastState, want) === '', limitMs, () => `${what}: ${stateDiff(loop.lastState, want)}`, since);
    t.deepEqual(duplicates(loop.lastState!), [], what);
    t.log(`${what}: converged ${ms} ms after the apiserver was reachable`);
    return ms;
  };
  await converge('initial', 5000);

  // 1. Random cuts while changes flow.
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 40; i++) {
      await workload.randomOp();
      if (i % 5 === 0) proxy.cutRandom(0.5);
    }
    await converge(`random cuts round ${round}`, 1000);
  }

  // 2. Unreachable while changes happen, then a forced compaction: the resume gets 410 and relists.
  proxy.reachable = false;
  proxy.cutAll();
  for (let i = 0; i < 40; i++) await workload.randomOp();
  await api.compact();
  const sent = proxy.requests.length;
  proxy.reachable = true;
  await converge('outage + compaction (410 relist)', 1000, Date.now());
  // A resume would be watches only: lists of both resources show the 410 made the watcher relist.
  const lists = proxy.requests.slice(sent).filter((r) => r.startsWith('GET ') && !/[?&]watch=(1|true)/.test(r));
  for (const resource of ['services', 'endpointslices']) {
    t.true(lists.some((r) => r.includes(`/${resource}`)), `no relist of ${resource} after the compaction; requests: ${proxy.requests.slice(sent).join(', ')}`);
  }

  // 3. Apiserver restarts (same file store, new port) with changes on both sides of the restart.
  for (let r = 0; r < 2; r++) {
    for (let i = 0; i < 20; i++) await workload.randomOp();
    proxy.reachable = false;
    await directClient.close();
    await api.stop();
    await new Promise((res) => setTimeout(res, 300));
    await api.start();
    proxy.target = api.port;
    directClient = new ApiClient({ server: api.url });
    workload.useClient(directClient);
    for (let i = 0; i < 20; i++) await workload.randomOp();
    proxy.reachable = true;
    await converge(`apiserver restart ${r}`, 1000, Date.now());
  }
});
