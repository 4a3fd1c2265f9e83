import test from 'ava';
import { CoreV1Api, KubeConfig, makeInformer, type V1Service } from '@kubernetes/client-node';
import { startServer, tempDir } from './server-fixture.ts';

/**
 * Acceptance 2: @kubernetes/client-node's informer receives add, update and
 * delete for services in order, and recovers after the server (file store)
 * restarts on the same port.
 */
function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'ferry', server: url, skipTLSVerify: true }],
    users: [{ name: 'ferry' }],
    contexts: [{ name: 'ferry', cluster: 'ferry', user: 'ferry' }],
    currentContext: 'ferry',
  });
  return kc;
}

async function waitFor(pred: () => boolean, what: string, log: () => unknown): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(log())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(url: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<number> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'Content-Type': contentType }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  await res.arrayBuffer();
  return res.status;
}

const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });

test('client-node informer: add/update/delete in order, and recovery after a server restart', async (t) => {
  const dataDir = await tempDir(t);
  let running = await startServer(t, 'file', { dataDir });
  const { url, port } = running;
  const kc = kubeConfig(url);
  const api = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Service>(kc, '/api/v1/namespaces/default/services', () => api.listNamespacedService({ namespace: 'default' }));
  const events: string[] = [];
  let stopped = false;
  informer.on('add', (s) => events.push(`add ${s.metadata?.name}`));
  informer.on('update', (s) => events.push(`update ${s.metadata?.name} ${s.metadata?.labels?.v ?? ''}`));
  informer.on('delete', (s) => events.push(`delete ${s.metadata?.name}`));
  informer.on('error', () => {
    // client-node's informer stops on errors; restart it as its README shows.
    if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
  });
  t.teardown(async () => {
    stopped = true;
    await informer.stop();
  });
  await informer.start();
  await waitFor(() => events.includes('add kubernetes'), 'the initial list', () => events);

  t.is(await send(url, 'POST', '/api/v1/namespaces/default/services', svc('a')), 201);
  t.is(await send(url, 'PATCH', '/api/v1/namespaces/default/services/a', { metadata: { labels: { v: '1' } } }, 'application/merge-patch+json'), 200);
  t.is(await send(url, 'PATCH', '/api/v1/namespaces/default/services/a', { metadata: { labels: { v: '2' } } }, 'application/merge-patch+json'), 200);
  t.is(await send(url, 'DELETE', '/api/v1/namespaces/default/services/a'), 200);
  await waitFor(() => events.includes('delete a'), 'the delete', () => events);
  t.deepEqual(
    events.filter((e) => e.includes(' a')),
    ['add a', 'update a 1', 'update a 2', 'delete a'],
  );

  await running.close();
  running = await startServer(t, 'file', { dataDir }, {}, port);
  t.is(await send(url, 'POST', '/api/v1/namespaces/default/services', svc('b')), 201);
  await waitFor(() => events.includes('add b'), 'an add after the restart', () => events);
  t.is(await send(url, 'PATCH', '/api/v1/namespaces/default/services/b', { metadata: { labels: { v: '3' } } }, 'application/merge-patch+json'), 200);
  await waitFor(() => events.includes('update b 3'), 'an update after the restart', () => events);
  t.is(informer.list().filter((s) => s.metadata?.name === 'a').length, 0);
});
