import test, { type ExecutionContext } from 'ava';
import { ApiClient } from '../../../src/client/api-client.ts';
import { ProxierHealth } from '../../../src/endpoints/healthz.ts';
import { MetaProxier } from '../../../src/endpoints/meta-proxier.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';
import { FakeApiserver } from './fake-apiserver.ts';
import { FlakyProxier, until } from './flaky-proxier.ts';

// A dual-stack node: one proxier per IP family behind a MetaProxier, fed by
// one ProxyLoop (one set of informers, one metrics registry, one health).

const SVC = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

const dualStack = {
  metadata: { namespace: 'ns1', name: 'web' },
  spec: { clusterIP: '172.30.0.41', clusterIPs: ['172.30.0.41', 'fd00:172:30::41'], ipFamilies: ['IPv4', 'IPv6'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
};
const slice = (family: 4 | 6, ips: string[]) => ({
  metadata: { namespace: 'ns1', name: `web-v${family}`, labels: { 'kubernetes.io/service-name': 'web' } }, addressType: `IPv${family}`,
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

const endpointsOf = (s: ProxyState | undefined) => s?.endpoints.get('ns1/web:http')?.map((e) => e.ip) ?? [];

/** dualStackNode runs a ProxyLoop over a MetaProxier of two FlakyProxiers (`primary` first) against a fake apiserver holding the dual-stack Service. */
async function dualStackNode(t: ExecutionContext, primary: 4 | 6, syncPeriodMs: number, healthTimeoutMs: number) {
  const api = new FakeApiserver();
  const client = new ApiClient({ server: await api.listen() });
  const v4 = new FlakyProxier();
  const v6 = new FlakyProxier();
  const families = [{ family: 4 as const, proxier: v4 }, { family: 6 as const, proxier: v6 }];
  const proxier = new MetaProxier(primary === 4 ? families : families.reverse());
  const metrics = new ProxyMetrics();
  const health = new ProxierHealth({ healthTimeoutMs });
  api.upsert(SVC, dualStack);
  api.upsert(SLICES, slice(4, ['10.0.0.1']));
  api.upsert(SLICES, slice(6, ['fd00:10::1']));
  const loop = new ProxyLoop({ client, proxier, nodeName: 'node-a', minSyncPeriodMs: 20, syncPeriodMs, configSyncPeriodMs: 0, metrics, health, backoff: { connection: { initialMs: 10, maxMs: 20 } } });
  t.teardown(async () => {
    await loop.stop();
    await client.close();
    await api.close();
  });
  return { api, v4, v6, proxier, metrics, health, loop };
}

test('each family proxier gets its own family snapshot; a failing family is retried alone', async (t) => {
  const { api, v4, v6, proxier, metrics, health, loop } = await dualStackNode(t, 6, 200, 400);
  t.deepEqual(proxier.ipFamilies, [6, 4], 'the primary family (the node IP\'s) first');
  loop.start();
  await until(() => v4.states.length >= 1 && v6.states.length >= 1, 5000, 'first syncs');
  t.deepEqual(v4.states[0]!.services.get('ns1/web:http')?.clusterIPs, ['172.30.0.41']);
  t.deepEqual(v6.states[0]!.services.get('ns1/web:http')?.clusterIPs, ['fd00:172:30::41']);
  t.deepEqual(endpointsOf(v4.states[0]), ['10.0.0.1']);
  t.deepEqual(endpointsOf(v6.states[0]), ['fd00:10::1']);
  t.is(loop.lastState?.ipFamily, 6, 'lastState is the primary family\'s');

  v6.failing = true;
  api.upsert(SLICES, slice(6, ['fd00:10::1', 'fd00:10::2']));
  api.upsert(SLICES, slice(4, ['10.0.0.1', '10.0.0.2']));
  await until(() => endpointsOf(v4.states.at(-1)).length === 2, 5000, 'IPv4 synced while IPv6 fails');
  await until(() => health.status().healthy === false, 3000, 'unhealthy while a family fails');
  const v4Count = v4.states.length;
  v6.failing = false;
  await until(() => endpointsOf(v6.states.at(-1)).length === 2 && health.status().healthy, 5000, 'IPv6 retried');
  t.deepEqual([...v6.states.at(-1)!.changed], ['ns1/web:http'], 'the IPv6 change survived its failed syncs');
  t.true(v4.states.slice(v4Count).every((s) => s.changed.size === 0), 'IPv4 forgot its synced change');
  t.regex(await metrics.registry.metrics(), /ferry_proxy_sync_failures_total [1-9]/);

  await proxier.cleanup();
  t.deepEqual([v4.cleanups, v6.cleanups], [1, 1]);
});

test('a change of one family syncs that family alone; the other syncs at --sync-period, as kube-proxy\'s per-family proxiers', async (t) => {
  const syncPeriodMs = 3000;
  const { api, v4, v6, loop } = await dualStackNode(t, 4, syncPeriodMs, 2 * syncPeriodMs);
  loop.start();
  await until(() => v4.states.length === 1 && v6.states.length === 1, 5000, 'first syncs');
  const firstSync = Date.now();

  api.upsert(SLICES, slice(4, ['10.0.0.1', '10.0.0.2']));
  await until(() => endpointsOf(v4.states.at(-1)).length === 2, 2000, 'the IPv4 change synced');
  t.true(Date.now() - firstSync < syncPeriodMs, 'within the first sync period');
  t.is(v6.states.length, 1, 'the IPv6 proxier was not asked to sync for an IPv4 change');
  api.upsert(SLICES, slice(6, ['fd00:10::1', 'fd00:10::2']));
  await until(() => endpointsOf(v6.states.at(-1)).length === 2, 2000, 'the IPv6 change synced');
  t.is(v4.states.length, 2, 'nor the IPv4 one for an IPv6 change');

  await until(() => v4.states.length === 3 && v6.states.length === 3, syncPeriodMs + 2000, 'the periodic sync of both');
  t.deepEqual([v4.states[2]!.changed.size, v6.states[2]!.changed.size], [0, 0], 'periodic: nothing changed, both resynced');
});
