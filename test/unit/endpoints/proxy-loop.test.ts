import test from 'ava';
import { ApiClient } from '../../../src/client/api-client.ts';
import { ProxierHealth } from '../../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import { FakeApiserver } from './fake-apiserver.ts';
import { FlakyProxier, until } from './flaky-proxier.ts';

const SVC = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const NODES = '/api/v1/nodes';

const svc = (name: string, ip: string) => ({ metadata: { namespace: 'ns1', name }, spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
const slice = (name: string, svcName: string, ips: string[]) => ({
  metadata: { namespace: 'ns1', name, labels: { 'kubernetes.io/service-name': svcName } }, addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a' })),
});

test('syncs only after services and slices synced, then follows changes; failures are retried and keep changes', async (t) => {
  const api = new FakeApiserver();
  const client = new ApiClient({ server: await api.listen() });
  const proxier = new FlakyProxier();
  const metrics = new ProxyMetrics();
  const health = new ProxierHealth({ healthTimeoutMs: 400 });
  api.upsert(SVC, svc('a', '172.30.0.1'));
  api.upsert(SLICES, slice('a-1', 'a', ['10.0.0.1']));
  api.upsert(NODES, { metadata: { name: 'node-a', labels: { zone: 'z1' } } });
  const loop = new ProxyLoop({ client, proxier, nodeName: 'node-a', minSyncPeriodMs: 50, syncPeriodMs: 200, configSyncPeriodMs: 0, metrics, health, backoff: { connection: { initialMs: 10, maxMs: 20 } } });
  t.teardown(async () => {
    await loop.stop();
    await client.close();
    await api.close();
  });
  loop.start();
  await until(() => proxier.states.length >= 1);
  const first = proxier.states[0]!;
  t.deepEqual([...first.services.keys()], ['ns1/a:http']);
  t.deepEqual(first.endpoints.get('ns1/a:http')!.map((e) => `${e.ip}:${e.port}/${e.isLocal}`), ['10.0.0.1:8080/true']);

  proxier.failing = true;
  api.upsert(SLICES, slice('a-1', 'a', ['10.0.0.1', '10.0.0.2']));
  await until(() => health.status().healthy === false, 3000);
  const count = proxier.states.length;
  proxier.failing = false;
  await until(() => proxier.states.length > count && health.status().healthy);
  t.deepEqual([...proxier.states[count]!.changed], ['ns1/a:http'], 'the change survived the failed syncs');
  t.deepEqual(loop.lastState!.endpoints.get('ns1/a:http')!.map((e) => e.ip), ['10.0.0.1', '10.0.0.2']);
  t.regex(await metrics.registry.metrics(), /ferry_proxy_sync_failures_total [1-9]/);
});
