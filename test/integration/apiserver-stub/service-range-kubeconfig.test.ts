import test from 'ava';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1Service } from '@kubernetes/client-node';
import { parseCidr, parsePortRange } from '../../../src/apiserver-stub/allocators/cidr.ts';
import type { KubeObject } from '../../../src/kube/types.ts';
import { ServiceAllocator } from '../../../src/apiserver-stub/allocators/service-allocator.ts';
import { startApiserverProcess, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16 part 4: the whole IPv4 service CIDR serves ClusterIPs (kube's
 * 65,536 cap is for IPv6), and the kubeconfig `ferry apiserver` writes for
 * plain HTTP is one @kubernetes/client-node accepts.
 */
async function createService(url: string, name: string, clusterIP: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1/namespaces/default/services`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP, ports: [{ port: 80 }] } }),
  });
  return { status: res.status, json: await res.json() };
}

test('a ClusterIP past the first 65,536 addresses of 10.96.0.0/12 is accepted; one outside is refused in kube words', async (t) => {
  const { url } = await startServer(t);
  const inside = await createService(url, 'far', '10.100.0.1');
  t.is(inside.status, 201, JSON.stringify(inside.json));
  t.is(inside.json.spec.clusterIP, '10.100.0.1');
  t.is((await createService(url, 'last', '10.111.255.254')).status, 201);
  const taken = await createService(url, 'again', '10.100.0.1');
  t.is(taken.status, 422);
  const outside = await createService(url, 'outside', '10.112.0.1');
  t.is(outside.status, 422);
  t.is(outside.json.message, 'Service "outside" is invalid: spec.clusterIPs: Invalid value: ["10.112.0.1"]: failed to allocate IP 10.112.0.1: the provided IP (10.112.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12');
  t.is((await createService(url, 'broadcast', '10.111.255.255')).status, 422);
});

test('a deleted Service gives its ClusterIP back: the allocator follows the store', async (t) => {
  const { url } = await startServer(t);
  t.is((await createService(url, 'first', '10.96.7.7')).status, 201);
  t.is((await createService(url, 'second', '10.96.7.7')).status, 422, 'taken while the first holds it');
  t.is((await fetch(`${url}/api/v1/namespaces/default/services/first`, { method: 'DELETE' })).status, 200);
  // The allocator learns of the delete from the store's watch, a moment after the DELETE answered.
  let again = await createService(url, 'second', '10.96.7.7');
  for (let i = 0; i < 50 && again.status === 422; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await createService(url, 'second', '10.96.7.7');
  }
  t.is(again.status, 201, JSON.stringify(again.json));
});

test('the /12 allocator stays cheap: 5,000 dynamic ClusterIPs, distinct and inside the range, in well under a second', (t) => {
  const allocator = new ServiceAllocator(parseCidr('10.96.0.0/12'), parsePortRange('30000-32767'));
  const seen = new Set<string>();
  const started = performance.now();
  for (let i = 0; i < 5000; i++) {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'default' }, spec: { ports: [{ port: 80 }] } };
    allocator.reserve(svc).commit();
    seen.add((svc.spec as { clusterIP: string }).clusterIP);
  }
  const ms = performance.now() - started;
  t.is(seen.size, 5000);
  for (const ip of seen) t.regex(ip, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
  t.true(ms < 1000, `${ms} ms`);
  t.log(`5000 ClusterIPs from a /12 in ${ms.toFixed(1)} ms`);
});

test('client-node loads the plain-HTTP kubeconfig ferry apiserver writes, and an informer over services sees a create', async (t) => {
  const dir = await tempDir(t);
  await startApiserverProcess(t, ['--plain-http', '--data-dir', dir]);
  const kc = new KubeConfig();
  kc.loadFromFile(join(dir, 'kubeconfig'));
  t.regex(kc.getCurrentCluster()!.server, /^http:\/\/127\.0\.0\.1:\d+$/);
  const api = kc.makeApiClient(CoreV1Api);
  const names = (await api.listNamespace()).items.map((n) => n.metadata?.name);
  t.true(names.includes('kube-system'));
  const informer = makeInformer<V1Service>(kc, '/api/v1/namespaces/default/services', () => api.listNamespacedService({ namespace: 'default' }));
  const added: string[] = [];
  informer.on('add', (s) => added.push(s.metadata!.name!));
  await informer.start();
  t.teardown(() => informer.stop());
  await api.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'seen' }, spec: { ports: [{ port: 80 }] } } });
  const until = Date.now() + 10_000;
  while (!added.includes('seen') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.true(added.includes('seen'), JSON.stringify(added));
});
