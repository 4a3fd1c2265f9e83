import test from 'ava';
import { ProxierHealth, healthzHandler, metricsHandler } from '../../../src/endpoints/healthz.ts';
import { listenHttp, parseBindAddress } from '../../../src/endpoints/http-server.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { FakeClock } from './fake-clock.ts';

const cases: Array<{ name: string; steps: (h: ProxierHealth, c: FakeClock) => Promise<void>; healthz: number; livez: number }> = [
  { name: 'healthy while starting (nothing queued)', steps: async () => {}, healthz: 200, livez: 200 },
  { name: 'queued update not yet late', steps: async (h, c) => { h.queuedUpdate(); await c.advance(59_000); }, healthz: 200, livez: 200 },
  { name: 'queued update older than 2x sync period', steps: async (h, c) => { h.queuedUpdate(); await c.advance(60_000); }, healthz: 503, livez: 503 },
  { name: 'applied after being late', steps: async (h, c) => { h.queuedUpdate(); await c.advance(90_000); h.updated(); }, healthz: 200, livez: 200 },
  { name: 'later queues do not reset the oldest', steps: async (h, c) => { h.queuedUpdate(); await c.advance(40_000); h.queuedUpdate(); await c.advance(20_000); }, healthz: 503, livez: 503 },
  { name: 'node being deleted fails healthz only', steps: async (h) => { h.syncNode({ metadata: { name: 'n', deletionTimestamp: '2026-01-01T00:00:00Z' } }); }, healthz: 503, livez: 200 },
  { name: 'autoscaler taint fails healthz only', steps: async (h) => { h.syncNode({ metadata: { name: 'n' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } }); }, healthz: 503, livez: 200 },
];

for (const tc of cases) {
  test(`healthz: ${tc.name}`, async (t) => {
    const clock = new FakeClock();
    const health = new ProxierHealth({ healthTimeoutMs: 60_000, clock });
    await tc.steps(health, clock);
    const metrics = new ProxyMetrics();
    const server = await listenHttp({ host: '127.0.0.1', port: 0 }, healthzHandler(health, metrics));
    t.teardown(() => server.close());
    const healthz = await fetch(`http://${server.address}/healthz`);
    const body = await healthz.text();
    t.is(healthz.status, tc.healthz);
    t.regex(body, /^\{"lastUpdated": "[^"]+","currentTime": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC", "nodeEligible": (true|false)\}$/);
    t.is(healthz.headers.get('content-type'), 'application/json');
    const livez = await fetch(`http://${server.address}/livez`);
    t.is(livez.status, tc.livez);
    t.notRegex(await livez.text(), /nodeEligible/);
    t.regex(await metrics.registry.metrics(), new RegExp(`kubeproxy_proxy_healthz_total\\{code="${tc.healthz}"\\} 1`));
  });
}

test('metrics server exposes kube-proxy names and /proxyMode', async (t) => {
  const metrics = new ProxyMetrics();
  const server = await listenHttp(parseBindAddress('metrics-bind-address', '127.0.0.1:0'), metricsHandler(metrics, 'dry-run'));
  t.teardown(() => server.close());
  const text = await (await fetch(`http://${server.address}/metrics`)).text();
  for (const name of ['kubeproxy_sync_proxy_rules_duration_seconds', 'kubeproxy_sync_full_proxy_rules_duration_seconds', 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    'kubeproxy_network_programming_duration_seconds', 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'kubeproxy_sync_proxy_rules_service_changes_pending',
    'kubeproxy_sync_proxy_rules_service_changes_total', 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total']) t.regex(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  t.is(await (await fetch(`http://${server.address}/proxyMode`)).text(), 'dry-run');
});

const binds: Array<[string, { host: string; port: number } | RegExp]> = [
  ['0.0.0.0:10256', { host: '0.0.0.0', port: 10256 }],
  ['[::1]:10249', { host: '::1', port: 10249 }],
  [':10256', { host: '0.0.0.0', port: 10256 }],
  ['10256', /want host:port/],
  ['1.2.3.4:99999', /want host:port/],
];
for (const [value, want] of binds) {
  test(`bind address ${value}`, (t) => {
    if (want instanceof RegExp) t.throws(() => parseBindAddress('healthz-bind-address', value), { message: want });
    else t.deepEqual(parseBindAddress('healthz-bind-address', value), want);
  });
}
