import test from 'ava';
import { call } from './rest-crud.ts';
import { startServer } from './server-fixture.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';

/**
 * Issue 17: the status subresources of the new kinds behave as kube's: a
 * create and a main-resource write keep (or reset) status, `/status` writes
 * only status; scale reads and writes replicas of StatefulSets and
 * ReplicationControllers; field selectors of Secrets by type.
 */
const podTemplate = (labels: Record<string, string>, restartPolicy = 'Always') => ({ metadata: { labels }, spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox' }] } });

const cases = [
  { path: '/apis/batch/v1/namespaces/default/jobs', body: { metadata: { name: 'j' }, spec: { template: podTemplate({}, 'Never') } }, status: { active: 1, startTime: '2026-01-01T00:00:00Z' } },
  { path: '/apis/apps/v1/namespaces/default/daemonsets', body: { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'd' } }, template: podTemplate({ a: 'd' }) } }, status: { desiredNumberScheduled: 3, numberReady: 2 } },
  { path: '/api/v1/namespaces/default/persistentvolumeclaims', body: { metadata: { name: 'p' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }, status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
  { path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses', body: { metadata: { name: 'i' }, spec: { defaultBackend: { service: { name: 's', port: { number: 80 } } } } }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
];

test('status subresources: create resets status, /status writes only status, a main write keeps it', async (t) => {
  const { url } = await startServer(t);
  for (const c of cases) {
    const created = await call(url, 'POST', c.path, { ...c.body, status: c.status });
    t.is(created.status, 201, JSON.stringify(created.body));
    t.notDeepEqual(created.body.status, c.status, `${c.path}: create keeps no client status`);
    const item = `${c.path}/${c.body.metadata.name}`;
    const withStatus = await call(url, 'PUT', `${item}/status`, { ...created.body, status: c.status, metadata: { ...created.body.metadata, labels: { sneaky: 'x' } } });
    t.is(withStatus.status, 200, JSON.stringify(withStatus.body));
    t.like(withStatus.body.status, c.status);
    t.is(withStatus.body.metadata.labels?.sneaky, undefined, `${c.path}: /status changes no metadata`);
    const main = await call(url, 'PUT', item, { ...withStatus.body, status: {}, metadata: { ...withStatus.body.metadata, labels: { l: 'v' } } });
    t.is(main.status, 200, JSON.stringify(main.body));
    t.like(main.body.status, c.status, `${c.path}: a main write keeps status`);
    t.is(main.body.metadata.labels.l, 'v');
  }
});

test('scale of StatefulSets and ReplicationControllers; Secrets select by type', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/apis/apps/v1/namespaces/default/statefulsets', { metadata: { name: 's' }, spec: { replicas: 2, selector: { matchLabels: { a: 's' } }, template: podTemplate({ a: 's' }) } });
  await call(url, 'POST', '/api/v1/namespaces/default/replicationcontrollers', { metadata: { name: 'r' }, spec: { template: podTemplate({ a: 'r' }) } });
  for (const path of ['/apis/apps/v1/namespaces/default/statefulsets/s/scale', '/api/v1/namespaces/default/replicationcontrollers/r/scale']) {
    const scale = await call(url, 'GET', path);
    t.like(scale.body, { kind: 'Scale', apiVersion: 'autoscaling/v1' });
    const put = await call(url, 'PUT', path, { ...scale.body, spec: { replicas: 5 } });
    t.is(put.status, 200, JSON.stringify(put.body));
    t.is((await call(url, 'GET', path.replace('/scale', ''))).body.spec.replicas, 5);
  }
  await call(url, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } });
  await call(url, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'plain' }, stringData: { a: 'b' } });
  const tls = await call(url, 'GET', '/api/v1/namespaces/default/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls');
  t.deepEqual(tls.body.items.map((s: { metadata: { name: string } }) => s.metadata.name), ['tls']);
});

test('deleting a Job without a propagation policy keeps its pods, with kube\'s warning; Background removes them', async (t) => {
  const { url } = await startServer(t);
  // Dependents are the garbage collector's (controller manager), as in kube.
  const client = new ApiClient({ server: url });
  const gc = new ControllerManager({ client, controllers: ['garbagecollector'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await gc.start();
  t.teardown(async () => {
    await gc.stop();
    await client.close();
  });
  const jobs = '/apis/batch/v1/namespaces/default/jobs';
  const podOf = async (job: { metadata: { name: string; uid: string } }, name: string) =>
    call(url, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true }] }, spec: podTemplate({}, 'Never').spec });
  const kept = (await call(url, 'POST', jobs, { metadata: { name: 'kept' }, spec: { template: podTemplate({}, 'Never') } })).body;
  const gone = (await call(url, 'POST', jobs, { metadata: { name: 'gone' }, spec: { template: podTemplate({}, 'Never') } })).body;
  t.is((await podOf(kept, 'kept-pod')).status, 201);
  t.is((await podOf(gone, 'gone-pod')).status, 201);

  const res = await fetch(`${url}${jobs}/kept`, { method: 'DELETE' });
  t.is(res.status, 200);
  t.regex(res.headers.get('warning') ?? '', /^299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background/);
  const background = await fetch(`${url}${jobs}/gone?propagationPolicy=Background`, { method: 'DELETE' });
  t.is(background.status, 200);
  t.is(background.headers.get('warning'), null);
  const deadline = Date.now() + 5000;
  while ((await call(url, 'GET', '/api/v1/namespaces/default/pods/gone-pod')).status !== 404 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/pods/gone-pod')).status, 404);
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/pods/kept-pod')).status, 200);
  while ((await call(url, 'GET', `${jobs}/kept`)).status !== 404 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is((await call(url, 'GET', `${jobs}/kept`)).status, 404, 'the orphaned Job is gone once the collector released it');
  t.deepEqual((await call(url, 'GET', '/api/v1/namespaces/default/pods/kept-pod')).body.metadata.ownerReferences, undefined, 'the kept pod lost its reference');
});
