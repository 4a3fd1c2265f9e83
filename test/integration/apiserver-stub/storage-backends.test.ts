import test from 'ava';
import { startServer, tempDir } from './server-fixture.ts';
import { call, crudAndWatch } from './rest-crud.ts';
import { EtcdServer, etcdMissing } from './storage/etcd-server.ts';

/** Acceptance 3: CRUD and watch through the REST layer on each store, and durability across restarts. */

test('memory store: CRUD, conflicts, generateName, selectors, watch', async (t) => {
  const { url } = await startServer(t, 'memory');
  await crudAndWatch(t, url);
});

test('file store: CRUD and watch, then a restart keeps objects, allocations and increasing resourceVersions', async (t) => {
  const dataDir = await tempDir(t);
  const first = await startServer(t, 'file', { dataDir });
  await crudAndWatch(t, first.url);
  const svc = await call(first.url, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'keep' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  t.is(svc.status, 201);
  const lastRV = Number(svc.body.metadata.resourceVersion);
  await first.close();

  const second = await startServer(t, 'file', { dataDir });
  const kept = await call(second.url, 'GET', '/api/v1/namespaces/default/services/keep');
  t.is(kept.status, 200);
  t.is(kept.body.spec.clusterIP, svc.body.spec.clusterIP);
  t.is(Number(kept.body.metadata.resourceVersion), lastRV);
  // The restarted server knows the stored allocations: the same IP and NodePort are refused to others.
  const clash = await call(second.url, 'POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'clash' },
    spec: { type: 'NodePort', clusterIP: svc.body.spec.clusterIP, ports: [{ port: 80, nodePort: svc.body.spec.ports[0].nodePort }] },
  });
  t.is(clash.status, 422);
  const causes = clash.body.details.causes.map((c: { field: string }) => c.field);
  t.true(causes.includes('spec.clusterIPs'), JSON.stringify(clash.body));
  const next = await call(second.url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'after' } });
  t.true(Number(next.body.metadata.resourceVersion) > lastRV);
  const defaults = await call(second.url, 'GET', '/api/v1/namespaces');
  t.deepEqual(defaults.body.items.map((n: any) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
});

const missing = etcdMissing();
(missing ? test.skip : test)('etcd store: the same CRUD and watch, and a second apiserver on the same etcd sees the objects', async (t) => {
  const etcd = await EtcdServer.forTest(t);
  const a = await startServer(t, 'etcd', { etcdServers: [etcd.url], etcdCompactionIntervalMs: 0 });
  await crudAndWatch(t, a.url);
  const b = await startServer(t, 'etcd', { etcdServers: [etcd.url], etcdCompactionIntervalMs: 0 });
  const created = await call(a.url, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'shared' }, spec: { ports: [{ port: 53, protocol: 'UDP' }] } });
  t.is(created.status, 201);
  const seen = await call(b.url, 'GET', '/api/v1/namespaces/default/services/shared');
  t.is(seen.body.spec.clusterIP, created.body.spec.clusterIP);
});
