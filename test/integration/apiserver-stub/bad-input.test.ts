import test from 'ava';
import { prng } from '../../helpers/apiserver-fuzz.ts';
import { startServer } from './server-fixture.ts';

/**
 * Acceptance 4: thousands of random, truncated and oversized bodies, invalid
 * selectors and invalid Services. Every answer is a 4xx metav1.Status and the
 * server keeps serving.
 */
const rand = prng(20261122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (n: number): number => Math.floor(rand() * n);

function randomJson(depth = 0): unknown {
  const kinds = depth > 3 ? 4 : 7;
  switch (int(kinds)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -1, 1.5, 1e308, 65536, 2 ** 53]);
    case 3:
      return pick(['', 'x', '\u0000', 'ü', 'None', '10.96.0.1', '-', 'a'.repeat(300)]);
    case 4:
      return Array.from({ length: int(4) }, () => randomJson(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < int(5); i++) o[pick(['metadata', 'spec', 'status', 'ports', 'kind', 'apiVersion', 'labels', '$patch', 'op', 'path', 'x'])] = randomJson(depth + 1);
      return o;
    }
  }
}

const validService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'fuzz', labels: { a: 'b' } }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };

/** Each of these makes the valid Service invalid in one way. */
const breakers: Array<(s: any) => void> = [
  (s) => (s.metadata.name = 'Not_A_Name'),
  (s) => (s.metadata.name = 'x'.repeat(64)),
  (s) => (s.metadata.labels = { 'bad key!': 'v' }),
  (s) => (s.metadata.labels = { k: 'bad value!' }),
  (s) => (s.spec.type = pick(['Cluster', 'nodeport', '', 42])),
  (s) => (s.spec.ports[0].port = pick([0, -1, 65536, '80', 1.5])),
  (s) => (s.spec.ports[0].protocol = pick(['ICMP', 'tcp', ''])),
  (s) => (s.spec.ports[0].targetPort = pick([0, 70000, 'Bad_Name', 'toolongportname-x', true])),
  (s) => (s.spec.ports[0].nodePort = pick([1, 29999, 32768, 65536])),
  (s) => s.spec.ports.push({ port: 81 }),
  (s) => s.spec.ports.push({ name: 'http', port: 81 }),
  (s) => s.spec.ports.push({ name: 'dup', port: 80 }),
  (s) => (s.spec.ports = []),
  (s) => (s.spec.ports = 'eighty'),
  (s) => (s.spec.clusterIP = pick(['1.2.3', 'abc', '192.168.0.1', '10.96.0.1'])),
  (s) => ((s.spec.type = 'ExternalName'), (s.spec.externalName = pick(['', 'bad name', '-x-']))),
  (s) => ((s.spec.type = 'ExternalName'), (s.spec.externalName = 'ok.example'), (s.spec.clusterIP = '10.96.5.5')),
  (s) => (s.spec.sessionAffinity = pick(['Sticky', 'clientip'])),
  (s) => ((s.spec.sessionAffinity = 'ClientIP'), (s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: pick([0, 86401, -5]) } })),
  (s) => ((s.spec.type = 'ClusterIP'), (s.spec.ports[0].nodePort = 30080)),
  (s) => (s.spec.externalTrafficPolicy = pick(['Global', 'local'])),
  (s) => (s.spec.ipFamilyPolicy = 'TripleStack'),
  (s) => (s.spec.ipFamilies = ['IPv5']),
  (s) => (s.spec.externalIPs = ['not-an-ip']),
  (s) => (s.spec.selector = { a: 1 }),
  (s) => (s.spec = pick([null, 'spec', []])),
  (s) => (s.metadata = pick(['meta', [], 7])),
  (s) => (s.kind = 'Pod'),
  (s) => (s.apiVersion = 'v2'),
  (s) => (s.metadata.namespace = 'other'),
];

const badSelectors = ['!', 'a in', 'a in (b', 'a notin b)', '(a)', 'a,', ',', 'a=b=c', 'in in (x)', 'a in (b c)', 'bad key=v', 'k=bad value!', 'a>b', 'x'.repeat(64), 'a/b/c=d', '!=x', '=x'];
const badFieldSelectors = ['spec.bogus=x', 'nofield', 'metadata.name', '=x', 'a\\q=b', 'metadata.name=a=b', 'status.phase~Running'];
const paths = ['/api/v1/namespaces/default/services', '/api/v1/namespaces/default/configmaps', '/apis/apps/v1/namespaces/default/deployments', '/api/v1/namespaces/default/pods', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', '/api/v1/nodes', '/api/v1/namespaces'];
const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'text/plain', ''];

interface Probe {
  method: string;
  path: string;
  body?: string | Buffer;
  type?: string;
}

function probes(): Probe[] {
  const out: Probe[] = [];
  const validText = JSON.stringify(validService);
  for (let i = 0; i < 600; i++) {
    const bytes = Buffer.from(Array.from({ length: int(200) + 1 }, () => int(256)));
    out.push({ method: pick(['POST', 'PUT', 'PATCH']), path: `${pick(paths)}${rand() < 0.5 ? '' : '/fuzz'}`, body: bytes, type: pick(['application/json', ...patchTypes]) });
  }
  for (let i = 0; i < 600; i++) {
    const cut = 1 + int(validText.length - 2);
    out.push({ method: pick(['POST', 'PUT']), path: `/api/v1/namespaces/default/services${rand() < 0.5 ? '' : '/kubernetes'}`, body: validText.slice(0, cut) });
  }
  for (let i = 0; i < 700; i++) {
    const body = randomJson();
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) delete (body as Record<string, unknown>).metadata;
    out.push({ method: 'POST', path: pick(paths), body: JSON.stringify(body) });
  }
  for (let i = 0; i < 500; i++) {
    const patch = pick([1, 'x', null, true, [1], [{ op: 'x' }], [{ op: 'remove', path: '/nope' }], [{ op: 'bogus' }], [{ op: 'test', path: '/kind', value: 'X' }], { spec: { ports: [{ name: 'x' }] } }, { spec: { clusterIP: '10.96.9.9' } }, { metadata: { name: 'renamed' } }, { kind: randomJson() }, { spec: { type: 'Nope' } }]);
    out.push({ method: 'PATCH', path: pick(['/api/v1/namespaces/default/services/kubernetes', '/api/v1/namespaces/default/services/absent']), body: JSON.stringify(patch), type: pick(patchTypes) });
  }
  for (let i = 0; i < 600; i++) {
    const svc = structuredClone(validService) as any;
    svc.metadata.name = `fuzz-${i}`;
    pick(breakers)(svc);
    out.push({ method: 'POST', path: '/api/v1/namespaces/default/services', body: JSON.stringify(svc) });
  }
  for (const s of badSelectors) out.push({ method: 'GET', path: `${pick(paths)}?labelSelector=${encodeURIComponent(s)}` });
  for (const s of badFieldSelectors) out.push({ method: 'GET', path: `${pick(paths)}?fieldSelector=${encodeURIComponent(s)}` });
  for (const q of ['limit=-1', 'limit=abc', 'continue=%%%', 'continue=eyJ2IjoxfQ', 'watch=1&resourceVersion=abc', 'timeoutSeconds=x', 'watch=1&sendInitialEvents=true']) out.push({ method: 'GET', path: `/api/v1/services?${q}` });
  for (const p of ['/api/v2', '/apis/apps/v9/deployments', '/api/v1/widgets', '/api/v1/namespaces/default/services/a/b/c', '/api/v1/namespaces/default/services/kubernetes/scale', '/%zz', '/api/v1/namespaces/default/pods/x/binding']) out.push({ method: pick(['GET', 'POST', 'DELETE']), path: p });
  for (let i = 0; i < 4; i++) out.push({ method: pick(['POST', 'PUT', 'PATCH']), path: '/api/v1/namespaces/default/configmaps', body: Buffer.alloc(3 * 1024 * 1024 + 1 + int(1000), 0x61), type: 'application/merge-patch+json' });
  out.push({ method: 'DELETE', path: '/api/v1/namespaces/kube-system' });
  out.push({ method: 'DELETE', path: '/api/v1/namespaces/default/services/kubernetes', body: '{"propagationPolicy":"Sideways"}' });
  return out;
}

test('bad input: every answer is a 4xx Status and the server stays up', async (t) => {
  const { url } = await startServer(t);
  const all = probes();
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const p = all[next++]!;
      const res = await fetch(`${url}${p.path}`, { method: p.method, headers: p.type !== undefined ? { 'Content-Type': p.type } : { 'Content-Type': 'application/json' }, ...(p.body !== undefined ? { body: p.body } : {}) });
      const text = await res.text();
      let status: any;
      try {
        status = JSON.parse(text);
      } catch {
        status = undefined;
      }
      if (res.status < 400 || res.status > 499 || status?.kind !== 'Status' || status.code !== res.status) {
        failures.push(`${p.method} ${p.path} ${String(p.body).slice(0, 120)} -> ${res.status} ${text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.true(all.length > 3000, `${all.length} probes`);
  t.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${all.length} probes were not a 4xx Status`);
  t.is((await fetch(`${url}/healthz`)).status, 200);
  const kube = await (await fetch(`${url}/api/v1/namespaces/default/services/kubernetes`)).json() as { spec: { clusterIP: string } };
  t.is(kube.spec.clusterIP, '10.96.0.1');
  const list = await (await fetch(`${url}/api/v1/namespaces/default/services`)).json() as { items: unknown[] };
  t.is(list.items.length, 1, 'no invalid Service was stored');
});
