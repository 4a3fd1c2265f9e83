import test from 'ava';
import { loadCorefile } from '../../../../src/dns/corefile/runner.ts';
import { boundIPs } from '../../../../src/dns/ns.ts';

// CoreDNS's kubernetes option parsing tests (plugin/kubernetes/setup_test.go,
// setup_ttl_test.go, coredns/coredns@4b26cced3), each Corefile read by
// Ferry's loader inside a server block for its zone. Upstream's error texts
// are checked by the substrings upstream checks.
//
// TestKubernetesParse's rows with two zones are in two-zones.test.ts, its
// fallthrough row in fallthrough.test.ts, TestKubernetesParseAPIRateLimiting
// in api-limits.test.ts; `labels`, `namespace_labels`, `endpoint`,
// `kubeconfig` and `startup_timeout` also work end to end in
// test/integration/dns/kubernetes-options.test.ts.

const parse = (text: string) => loadCorefile(`coredns.local {\n${text}\n}\n`)[0]!.kubernetes!;
const opts = (options: string) => parse(`kubernetes coredns.local {\n${options}\n}`);

const parseCases: Array<{ input: string; error?: RegExp; namespaces?: string[]; podMode?: string; labels?: string; namespaceLabels?: string; endpoint?: string; kubeconfig?: { file: string; context: string | undefined }; startupTimeoutMs?: number }> = [
  { input: 'kubernetes coredns.local', namespaces: [], podMode: 'disabled' },
  { input: 'kubernetes coredns.local {\n}', namespaces: [] },
  { input: 'kubernetes coredns.local {\n\tnamespaces demo\n}', namespaces: ['demo'] },
  { input: 'kubernetes coredns.local {\n\tnamespaces demo test\n}', namespaces: ['demo', 'test'] },
  { input: 'kubernetes coredns.local {\n\tnamespaces\n}', error: /rong argument count or unexpected line ending/ },
  { input: 'kubernetes coredns.local {\n\tpods disabled\n}', podMode: 'disabled' },
  { input: 'kubernetes coredns.local {\n\tpods insecure\n}', podMode: 'insecure' },
  { input: 'kubernetes coredns.local {\n\tpods verified\n}', podMode: 'verified' },
  { input: 'kubernetes coredns.local {\n\tpods giant_seed\n}', error: /rong value for pods/ },
  { input: 'kubernetes coredns.local\nkubernetes cluster.local', error: /this plugin/ },
  { input: 'kubernetes coredns.local {\n    labels environment=prod\n}', labels: 'environment=prod' },
  { input: 'kubernetes coredns.local {\n    labels environment in (production, staging, qa),application=nginx\n}', labels: 'application=nginx,environment in (production,qa,staging)' },
  { input: 'kubernetes coredns.local {\n    namespace_labels istio-injection=enabled\n}', namespaceLabels: 'istio-injection=enabled' },
  { input: 'kubernetes coredns.local {\n    namespaces foo bar\n    namespace_labels istio-injection=enabled\n}', error: /namespaces and namespace_labels cannot both be set/ },
  { input: 'kubernetes coredns.local {\n    labels\n}', error: /rong argument count or unexpected line ending/ },
  { input: 'kubernetes coredns.local {\n    labels environment in (production, qa\n}', error: /unable to parse label selector/ },
  { input: 'kubernetes coredns.local {\n\tendpoint http://localhost:9090 http://localhost:9091\n}', endpoint: 'http://localhost:9090' },
  { input: 'kubernetes coredns.local {\n    endpoint\n}', error: /rong argument count or unexpected line ending/ },
  { input: 'kubernetes coredns.local {\n\tkubeconfig\n}', error: /Wrong argument count or unexpected line ending after/ },
  { input: 'kubernetes coredns.local {\n\tkubeconfig file context extraarg\n}', error: /Wrong argument count or unexpected line ending after/ },
  { input: 'kubernetes coredns.local {\n\tkubeconfig file\n}', kubeconfig: { file: 'file', context: undefined } },
  { input: 'kubernetes coredns.local {\n\tkubeconfig file context\n}', kubeconfig: { file: 'file', context: 'context' } },
  { input: 'kubernetes coredns.local {\n        kubeconfig file context\n        startup_timeout 1s\n}', kubeconfig: { file: 'file', context: 'context' }, startupTimeoutMs: 1000 },
];
for (const tc of parseCases) {
  test(`TestKubernetesParse: ${JSON.stringify(tc.input)}`, (t) => {
    if (tc.error) {
      t.throws(() => parse(tc.input), { message: tc.error });
      return;
    }
    const k = parse(tc.input);
    t.is(k.zone, 'coredns.local');
    if (tc.namespaces) t.deepEqual(k.namespaces, tc.namespaces);
    if (tc.podMode) t.is(k.podMode as string, tc.podMode);
    t.is(k.labels, tc.labels ?? '');
    t.is(k.namespaceLabels, tc.namespaceLabels ?? '');
    t.is(k.endpoint, tc.endpoint);
    t.deepEqual(k.kubeconfig, tc.kubeconfig);
    t.is(k.startupTimeoutMs, tc.startupTimeoutMs ?? 0);
  });
}

// The option tests: [options, expected value or the error's substring].
const optionCases: Array<{ name: string; field: 'endpointPodNames' | 'noEndpoints' | 'ignoreEmptyService' | 'zonal' | 'ttl'; rows: Array<[string, boolean | number | RegExp]> }> = [
  { name: 'TestKubernetesParseEndpointPodNames', field: 'endpointPodNames', rows: [['\tendpoint_pod_names', true], ['\tendpoint_pod_names giant_seed', /rong argument count or unexpected/], ['', false]] },
  // Upstream checks initEndpointsCache, the opposite of noendpoints.
  { name: 'TestKubernetesParseNoEndpoints', field: 'noEndpoints', rows: [['\tnoendpoints', true], ['\tnoendpoints ixnay on the endpointsay', /rong argument count or unexpected/], ['', false]] },
  {
    name: 'TestKubernetesParseIgnoreEmptyService', field: 'ignoreEmptyService',
    rows: [['\tignore empty_service', true], ['\tignore ixnay on the endpointsay', /unable to parse ignore value/], ['\tignore empty_service ixnay on the endpointsay', true], ['', false]],
  },
  { name: 'TestKubernetesParseZonal', field: 'zonal', rows: [['\tzonal', true], ['\tzonal us-west-2a', /rong argument count/], ['\tzonal\n\tnoendpoints', /zonal requires the endpoint cache/], ['', false]] },
  { name: 'TestKubernetesParseTTL', field: 'ttl', rows: [['\t\t\tttl 56', 56], ['', 5], ['\t\t\tttl -1', /invalid value/], ['\t\t\tttl 3601', /invalid value/]] },
];
for (const { name, field, rows } of optionCases) {
  for (const [options, want] of rows) {
    test(`${name}: ${JSON.stringify(options.trim())}`, (t) => {
      if (want instanceof RegExp) t.throws(() => opts(options), { message: want });
      else t.is(opts(options)[field], want);
    });
  }
}

// TestBoundIPs: the addresses a server's listen host gives the apex NS.
// Upstream's listen hosts carry a prefix length; Ferry's bind takes an address.
test('TestBoundIPs: a listen address counts, loopback and none do not', (t) => {
  t.deepEqual(boundIPs('192.168.1.1', {}), ['192.168.1.1']);
  t.deepEqual(boundIPs('127.0.0.1', {}), []);
  t.deepEqual(boundIPs('', {}), []);
  t.deepEqual(boundIPs('0.0.0.0', { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }] }), []);
});

// TestKubernetesParseMulticluster (Ferry's zones carry no trailing dot).
const multiclusterCases: Array<[input: string, want: string[] | RegExp]> = [
  ['kubernetes coredns.local clusterset.local {\n\tmulticluster clusterset.local\n}', ['clusterset.local']],
  ['kubernetes coredns.local {\n\tmulticluster clusterset.local\n}', /is not authoritative for the multicluster zone clusterset\.local\./],
  ['kubernetes coredns.local clusterset.local {\n\tmulticluster clusterset.local test.local\n}', /is not authoritative for the multicluster zone test\.local\./],
  ['kubernetes coredns.local {\n\tmulticluster\n}', []],
];
for (const [input, want] of multiclusterCases) {
  test(`TestKubernetesParseMulticluster: ${JSON.stringify(input)}`, (t) => {
    if (want instanceof RegExp) t.throws(() => parse(input), { message: want });
    else t.deepEqual(parse(input).multiclusterZones, want);
  });
}
