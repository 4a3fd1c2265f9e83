import test from 'ava';
import { PassThrough } from 'node:stream';
import { ApiClient } from '../../../../src/client/api-client.ts';
import { DryRunProxier } from '../../../../src/endpoints/dry-run-proxier.ts';
import { ProxierHealth } from '../../../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../../src/endpoints/proxy-loop.ts';
import { until } from '../../../helpers/until.ts';
import { FakeApiserver } from '../../endpoints/fake-apiserver.ts';

// kube-proxy's TestNoEndpointsMetric (source in kube-proxy.ts): after a sync,
// sync_proxy_rules_no_local_endpoints_total{traffic_policy} counts services
// whose Local policy has endpoints elsewhere and none here. Ferry computes it
// once for every mode (proxy-loop.ts), so the case runs through the proxy
// loop, from Service and EndpointSlice objects to /metrics, with the dry-run backend.

const HOST = 'test-hostname';
type Policy = 'Local' | 'Cluster';
const cases: Array<{ name: string; itp?: Policy; etp?: Policy; endpoints: Array<[ip: string, node: string]>; internal?: number; external?: number }> = [
  { name: 'internalTrafficPolicy is set and there are local endpoints', itp: 'Local', endpoints: [['10.0.1.1', HOST], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'externalTrafficPolicy is set and there are local endpoints', etp: 'Local', endpoints: [['10.0.1.1', HOST], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'both policies are set and there are local endpoints', itp: 'Local', etp: 'Local', endpoints: [['10.0.1.1', HOST], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']] },
  { name: 'internalTrafficPolicy is set and there are no local endpoints', itp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], internal: 1 },
  { name: 'externalTrafficPolicy is set and there are no local endpoints', etp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], external: 1 },
  { name: 'both policies are set and there are no local endpoints', itp: 'Local', etp: 'Local', endpoints: [['10.0.1.1', 'host0'], ['10.0.1.2', 'host1'], ['10.0.1.3', 'host2']], internal: 1, external: 1 },
  { name: 'both policies are set and there are no endpoints at all', itp: 'Local', etp: 'Local', endpoints: [] },
];

const gauge = (text: string, policy: string) => Number(new RegExp(`kubeproxy_sync_proxy_rules_no_local_endpoints_total\\{traffic_policy="${policy}"\\} (\\d+)`).exec(text)?.[1]);

for (const tc of cases) {
  test(`TestNoEndpointsMetric: ${tc.name}`, async (t) => {
    const api = new FakeApiserver();
    const client = new ApiClient({ server: await api.listen() });
    const metrics = new ProxyMetrics();
    const loop = new ProxyLoop({
      client, proxier: new DryRunProxier(new PassThrough().resume()), nodeName: HOST, minSyncPeriodMs: 0, syncPeriodMs: 60_000, configSyncPeriodMs: 0,
      metrics, health: new ProxierHealth({ healthTimeoutMs: 120_000 }), backoff: { connection: { initialMs: 10, maxMs: 20 } },
    });
    t.teardown(async () => {
      await loop.stop();
      await client.close();
      await api.close();
    });
    api.upsert('/api/v1/services', {
      metadata: { namespace: 'ns1', name: 'svc1' },
      spec: {
        clusterIP: '172.30.1.1', clusterIPs: ['172.30.1.1'], selector: { foo: 'bar' }, ports: [{ name: '', port: 80, protocol: 'TCP', nodePort: 123 }],
        ...(tc.itp ? { internalTrafficPolicy: tc.itp } : {}),
        ...(tc.etp ? { type: 'NodePort', externalTrafficPolicy: tc.etp } : {}),
      },
    });
    api.upsert('/apis/discovery.k8s.io/v1/endpointslices', {
      metadata: { namespace: 'ns1', name: 'svc1-1', labels: { 'kubernetes.io/service-name': 'svc1' } }, addressType: 'IPv4',
      ports: [{ name: '', port: 80, protocol: 'TCP' }],
      endpoints: tc.endpoints.map(([ip, node]) => ({ addresses: [ip], conditions: { ready: true }, nodeName: node })),
    });
    api.upsert('/api/v1/nodes', { metadata: { name: HOST } });
    loop.start();
    await until('the first sync', async () => loop.lastState, 5000, 10);
    const text = await metrics.registry.metrics();
    t.deepEqual({ internal: gauge(text, 'internal'), external: gauge(text, 'external') }, { internal: tc.internal ?? 0, external: tc.external ?? 0 });
  });
}
