import test from 'ava';
import { ApiClient } from '../../../../src/client/api-client.ts';
import { Registry } from 'prom-client';
import { RequestLimiter } from '../../../../src/client/rate-limit.ts';
import { ApiClientMetrics } from '../../../../src/dns/client-metrics.ts';
import { resources } from '../../../../src/client/resources.ts';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { startCluster } from '../../../integration/dns/harness.ts';

// CoreDNS's TestKubernetesParseAPIRateLimiting and TestSanitizeLabelValue's metrics (plugin/kubernetes/
// setup_test.go, coredns/coredns@4b26cced3): `apiserver_qps`,
// `apiserver_burst` and `apiserver_max_inflight` read as upstream reads them,
// and what they do to the API client (client-go's token bucket, CoreDNS's
// max-inflight round tripper), measured on real requests.

const kube = (options: string) => loadCorefile(`coredns.local {\n  kubernetes coredns.local {\n${options}\n  }\n}\n`)[0]!.kubernetes!;

const parseCases: Array<[options: string, want: { qps: number; burst: number; maxInflight: number } | RegExp]> = [
  ['\tapiserver_qps 50.0\n\tapiserver_burst 100\n\tapiserver_max_inflight 25', { qps: 50, burst: 100, maxInflight: 25 }],
  ['\tapiserver_qps -10', /apiserver_qps must be >= 0/],
  ['\tapiserver_burst -5', /apiserver_burst must be >= 0/],
  ['\tapiserver_max_inflight -1', /apiserver_max_inflight must be >= 0/],
  ['', { qps: 0, burst: 0, maxInflight: 0 }],
];
for (const [options, want] of parseCases) {
  test(`TestKubernetesParseAPIRateLimiting: ${JSON.stringify(options.trim())}`, (t) => {
    if (want instanceof RegExp) t.throws(() => kube(options), { message: want });
    else t.deepEqual(kube(options).apiLimits, want);
  });
}

test('the token bucket: a burst at once, then one request per 1/qps', async (t) => {
  const limiter = new RequestLimiter({ qps: 20, burst: 2 });
  const started = performance.now();
  const at: number[] = [];
  const settled = [false, false, false, false, false, false];
  const all = Promise.all(settled.map(async (_, i) => {
    (await limiter.acquire())();
    settled[i] = true;
    at.push(performance.now() - started);
  }));
  // "At once" without a clock: the burst is granted before any timer could fire, the third is not.
  await new Promise((r) => setImmediate(r));
  t.deepEqual(settled.slice(0, 3), [true, true, false], 'the burst of 2 at once, the third waits');
  await all;
  at.sort((a, b) => a - b);
  // Four more at 20/s: the last about 200 ms in.
  t.true(at[5]! >= 180, `the rest paced (${Math.round(at[5]!)} ms)`);
});

test('max in flight: a third request waits until one of two gives its place back', async (t) => {
  const limiter = new RequestLimiter({ maxInflight: 2 });
  const first = await limiter.acquire();
  await limiter.acquire();
  let third = false;
  const waiting = limiter.acquire().then(() => (third = true));
  await new Promise((r) => setTimeout(r, 50));
  t.false(third);
  first();
  await waiting;
  t.true(third);
});

test('an ApiClient with qps 10 and burst 1 spaces its requests to the apiserver', async (t) => {
  const cluster = await startCluster(t);
  const client = new ApiClient({ server: cluster.url }, { limits: { qps: 10, burst: 1 } });
  t.teardown(() => client.close());
  const started = performance.now();
  for (let i = 0; i < 4; i++) await client.list(resources.namespaces, {});
  // The first at once, three more at 10/s.
  t.true(performance.now() - started >= 280, `${Math.round(performance.now() - started)} ms for 4 lists`);
});

// metrics_test.go's TestSanitizeLabelValue guards the host label of these
// metrics against invalid UTF-8 from Go byte strings; Ferry's host is a
// JavaScript string, always valid, so the label is checked as it comes out.
test('the API client\'s request metrics: coredns_kubernetes_rest_client_* by code, method and host', async (t) => {
  const cluster = await startCluster(t);
  const metrics = new ApiClientMetrics();
  const client = new ApiClient({ server: cluster.url }, { onRequest: metrics.observe });
  t.teardown(() => client.close());
  await client.list(resources.namespaces, {});
  await client.list(resources.namespaces, {});
  await t.throwsAsync(client.get(resources.namespaces, 'nope'));
  const down = new ApiClient({ server: 'http://127.0.0.1:9' }, { onRequest: metrics.observe });
  t.teardown(() => down.close());
  await t.throwsAsync(down.list(resources.namespaces, {}));
  const registry = new Registry();
  metrics.registerIn(registry);
  const text = await registry.metrics();
  const host = new URL(cluster.url).host;
  t.regex(text, new RegExp(`coredns_kubernetes_rest_client_requests_total\\{code="200",method="GET",host="${host}"\\} 2`));
  t.regex(text, new RegExp(`coredns_kubernetes_rest_client_requests_total\\{code="404",method="GET",host="${host}"\\} 1`));
  t.regex(text, /coredns_kubernetes_rest_client_requests_total\{code="<error>",method="GET",host="127.0.0.1:9"\} 1/);
  t.regex(text, new RegExp(`coredns_kubernetes_rest_client_request_duration_seconds_count\\{verb="GET",host="${host}"\\} 3`));
  t.regex(text, /coredns_kubernetes_rest_client_rate_limiter_duration_seconds_count/);
});
