import test from 'ava';
import { PassThrough } from 'node:stream';
import { ApiClient } from '../../../../src/client/api-client.ts';
import { DryRunProxier } from '../../../../src/endpoints/dry-run-proxier.ts';
import { ProxierHealth } from '../../../../src/endpoints/healthz.ts';
import { ProxyMetrics } from '../../../../src/endpoints/metrics.ts';
import { ProxyLoop } from '../../../../src/endpoints/proxy-loop.ts';
import { proxyState } from '../../../helpers/proxy-state-fixtures.ts';
import { until } from '../../../helpers/until.ts';
import { FakeApiserver } from '../../endpoints/fake-apiserver.ts';
import { svc } from '../fixtures.ts';
import { countRules, remote, upstreamProxier } from './kube-proxy.ts';

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

// kube-proxy's TestProxierMetricsIPTablesTotalRules: after each sync,
// sync_proxy_rules_iptables_total{table} is the number of rules in that
// table's part of the restore (every one, as both syncs rewrite svc1 whole),
// read here from the /metrics registry the proxier publishes to.
test('TestProxierMetricsIPTablesTotalRules: the rule totals match the rules restored, before and after endpoints', async (t) => {
  const metrics = new ProxyMetrics();
  const { ipt, proxier } = upstreamProxier(t, metrics);
  const total = async (table: string) => (await metrics.iptablesRulesTotal.get()).values.find((v) => v.labels.table === table)?.value;
  const s1 = svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], nodePort: 31201 });
  for (const [what, endpoints] of [['no endpoints', []], ['two endpoints', [remote('10.0.0.2'), remote('10.0.0.5')]]] as const) {
    t.true((await proxier.sync(proxyState([[s1, [...endpoints]]], [s1.key]))).ok, what);
    const restore = ipt.restores.at(-1)!;
    t.true(countRules(restore, 'nat') > 0 && countRules(restore, 'filter') > 0, `${what}: both tables written`);
    t.is(await total('filter'), countRules(restore, 'filter'), `${what}: filter`);
    t.is(await total('nat'), countRules(restore, 'nat'), `${what}: nat`);
  }
});
