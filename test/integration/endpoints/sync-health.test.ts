import test from 'ava';
import { PassThrough } from 'node:stream';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { DryRunProxier } from '../../../src/endpoints/dry-run-proxier.ts';
import { ProxierHealth, healthzHandler } from '../../../src/endpoints/healthz.ts';
import { listenHttp } from '../../../src/endpoints/http-server.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import type { Proxier, SyncResult } from '../../../src/endpoints/proxier.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';
import { TestApiserver, serviceObject, sliceObject, until } from './fixtures.ts';

/** CountingProxier records each sync and fails while `failing` is set. */
class CountingProxier implements Proxier {
  readonly mode = 'counting';
  failing = false;
  readonly synced: ProxyState[] = [];
  readonly #inner = new DryRunProxier(new PassThrough().resume());
  async sync(state: ProxyState): Promise<SyncResult> {
    if (this.failing) return { ok: false, error: new Error('injected sync failure') };
    this.synced.push(state);
    return this.#inner.sync(state);
  }
  async cleanup(): Promise<void> {}
  async close(): Promise<void> {}
}

async function setup(t: any, periods: { minSyncPeriodMs: number; syncPeriodMs: number }) {
  const api = new TestApiserver('memory');
  await api.start();
  const client = new ApiClient({ server: api.url });
  const proxier = new CountingProxier();
  const metrics = new ProxyMetrics();
  const health = new ProxierHealth({ healthTimeoutMs: 2 * periods.syncPeriodMs });
  const healthz = await listenHttp({ host: '127.0.0.1', port: 0 }, healthzHandler(health, metrics));
  const loop = new ProxyLoop({ client, proxier, nodeName: 'node-a', configSyncPeriodMs: 0, metrics, health, ...periods });
  t.teardown(async () => {
    await loop.stop();
    await healthz.close();
    await client.close();
    await api.destroy();
  });
  return { api, client, proxier, loop, healthz, metrics };
}

const ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }];

// Acceptance 4a: 1,000 changes arriving within min-sync-period make at most two syncs.
test('1,000 endpoint changes within min-sync-period coalesce into at most two syncs', async (t) => {
  const MIN_SYNC_MS = 20_000;
  const { client, proxier, loop } = await setup(t, { minSyncPeriodMs: MIN_SYNC_MS, syncPeriodMs: 120_000 });
  const SLICES = 50;
  await client.create(resources.services, serviceObject('default', 'web', ports));
  for (let s = 0; s < SLICES; s++) await client.create(resources.endpointslices, sliceObject('default', 'web', `web-${s}`, ports, []));
  loop.start();
  await until(() => proxier.synced.length === 1, 10_000, () => 'first sync');
  // Right after the first sync, 1,000 changes (20 rounds over 50 slices) as fast as the API takes them:
  // all of them arrive within min-sync-period of that sync.
  const firstSyncAt = Date.now();
  for (let round = 1; round <= 1000 / SLICES; round++) {
    await Promise.all(Array.from({ length: SLICES }, (_, s) => client.patch(resources.endpointslices, `web-${s}`, { endpoints: [{ addresses: [`10.2.${s}.${round}`], conditions: { ready: true } }] }, 'merge', { namespace: 'default' })));
  }
  const writeMs = Date.now() - firstSyncAt;
  t.true(writeMs < MIN_SYNC_MS, `the 1,000 changes took ${writeMs} ms, longer than min-sync-period`);
  const want = Array.from({ length: SLICES }, (_, s) => `10.2.${s}.${1000 / SLICES}`).sort();
  await until(() => JSON.stringify(proxier.synced.at(-1)?.endpoints.get('default/web:http')?.map((e) => e.ip)) === JSON.stringify(want), MIN_SYNC_MS + 10_000, () => 'last changes synced');
  await new Promise((r) => setTimeout(r, 500));
  const syncs = proxier.synced.length - 1;
  t.log(`1,000 changes written in ${writeMs} ms → ${syncs} sync(s) after the first`);
  t.true(syncs >= 1 && syncs <= 2, `syncs: ${syncs}`);
});

// Acceptance 4b: /healthz turns 503 when syncs fail for longer than 2x sync period, and 200 after.
test('/healthz is 503 after syncs fail for more than 2x sync period, 200 once a sync succeeds', async (t) => {
  const { client, proxier, loop, healthz, metrics } = await setup(t, { minSyncPeriodMs: 100, syncPeriodMs: 500 });
  const status = async () => (await fetch(`http://${healthz.address}/healthz`)).status;
  await client.create(resources.services, serviceObject('default', 'web', ports));
  loop.start();
  await until(() => proxier.synced.length >= 1, 10_000, () => 'first sync');
  t.is(await status(), 200);
  proxier.failing = true;
  const failedAt = Date.now();
  await client.create(resources.endpointslices, sliceObject('default', 'web', 'web-1', ports, [{ ip: '10.3.0.1', ready: true, node: 'node-b' }]));
  await until(async () => (await status()) === 503, 5000, () => 'healthz never turned 503');
  const unhealthyAfter = Date.now() - failedAt;
  t.true(unhealthyAfter >= 1000, `503 only after 2x sync period (got ${unhealthyAfter} ms)`);
  t.is((await fetch(`http://${healthz.address}/livez`)).status, 503);
  proxier.failing = false;
  await until(async () => (await status()) === 200, 5000, () => 'healthz never recovered');
  t.deepEqual(proxier.synced.at(-1)!.endpoints.get('default/web:http')!.map((e) => e.ip), ['10.3.0.1']);
  t.regex(await metrics.registry.metrics(), /kubeproxy_proxy_healthz_total\{code="503"\} [1-9]/);
});
