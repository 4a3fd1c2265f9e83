import test from 'ava';
import { ApiClient } from '../../../src/client/api-client.ts';
import { DryRunProxier } from '../../../src/endpoints/dry-run-proxier.ts';
import { ProxierHealth } from '../../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import { PassThrough } from 'node:stream';
import { TestApiserver, duplicates, stateDiff, truth, until } from './fixtures.ts';
import { Workload } from './workload.ts';

// Acceptance 1: 200 services with endpoints, created, updated and deleted in
// random order against the project's apiserver; after each burst the
// watcher's ProxyState equals a fresh list.
test('after each random burst the ProxyState equals a fresh list of the API', async (t) => {
  const api = new TestApiserver();
  await api.start();
  const client = new ApiClient({ server: api.url });
  const loop = new ProxyLoop({
    client, proxier: new DryRunProxier(new PassThrough().resume()), nodeName: 'node-a',
    minSyncPeriodMs: 100, syncPeriodMs: 30_000, configSyncPeriodMs: 0, metrics: new ProxyMetrics(), health: new ProxierHealth({ healthTimeoutMs: 60_000 }),
  });
  t.teardown(async () => {
    await loop.stop();
    await client.close();
    await api.destroy();
  });
  const workload = new Workload(client);
  await workload.ensureNamespaces();
  for (let i = 0; i < 100; i++) await workload.createService();
  loop.start();
  for (let burst = 0; burst < 6; burst++) {
    const target = burst < 2 ? 200 : workload.services.size;
    while (workload.services.size < target) await workload.createService();
    for (let i = 0; i < 150; i++) await workload.randomOp();
    const want = await truth(client, 'node-a');
    const ms = await until(() => stateDiff(loop.lastState, want) === '', 5000, () => `burst ${burst}: ${stateDiff(loop.lastState, want)}`);
    t.deepEqual(duplicates(loop.lastState!), []);
    t.log(`burst ${burst}: ${want.services.size} service ports, ${[...want.endpoints.values()].reduce((n, e) => n + e.length, 0)} endpoints, equal after ${ms} ms`);
  }
  t.true(workload.services.size >= 150);
});
