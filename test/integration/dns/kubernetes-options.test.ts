/**
 * `kubernetes { endpoint URL }` and `kubernetes { kubeconfig FILE CONTEXT }`
 * reach the API server without `--server`; `startup_timeout` holds the
 * listening back until the informers have synced, or the timeout passed.
 *
 * `kubernetes { labels SELECTOR; namespace_labels SELECTOR }` end to end:
 * `ferry dns -conf` watches only the Services (and EndpointSlices) matching
 * `labels` and exposes only the namespaces matching `namespace_labels`, as
 * CoreDNS lists and watches with those selectors; a label that comes brings
 * a name in, and one that goes takes it out (the apiserver reports it as
 * DELETED on the selector's watch).
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resources } from '../../../src/client/resources.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { clusterIPService, createService, dig, startCluster, startFerryDnsConf, waitFor, writeCorefile, type Cluster, type Teardown } from './harness.ts';

const Z = 'cluster.local';

/** startConf runs `ferry dns -conf` with `corefile` (against `url` when given) and gives its port; `o.log` gets its log. */
async function startConf(t: Teardown, url: string | undefined, corefile: string | ((dir: string) => string), o: { waitReady?: false; log?: (text: () => string) => void } = {}): Promise<number> {
  const dns = await startFerryDnsConf(t, writeCorefile(t, corefile), { url, waitReady: o.waitReady });
  o.log?.(dns.log);
  return dns.port;
}

async function namespace(c: Cluster, name: string, labels: Record<string, string>): Promise<void> {
  await c.client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

test('labels and namespace_labels select what ferry dns answers for', async (t) => {
  const c = await startCluster(t);
  await namespace(c, 'prod', { team: 'a' });
  await namespace(c, 'dev', {});
  const labelled = (ns: string, name: string, ip: string, labels: Record<string, string>) => {
    const svc = clusterIPService(ns, name, [{ name: 'http', port: 80 }], { clusterIP: ip });
    return createService(c, { ...svc, metadata: { ...svc.metadata, labels } });
  };
  await labelled('prod', 'web', '10.96.1.1', { env: 'prod' });
  await labelled('prod', 'other', '10.96.1.2', {});
  await labelled('dev', 'web', '10.96.1.3', { env: 'prod' });
  const port = await startConf(t, c.url, `.:${await freePort()} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes ${Z} {\n    labels env in (prod, staging)\n    namespace_labels team=a\n  }\n  forward . 127.0.0.1:9\n}\n`);
  const status = async (name: string) => (await dig(port, [`${name}.svc.${Z}`, 'A'])).status;
  t.deepEqual((await dig(port, [`web.prod.svc.${Z}`, 'A'])).answer, [`web.prod.svc.${Z}. 5 IN A 10.96.1.1`]);
  t.is(await status('other.prod'), 'NXDOMAIN', 'a Service outside labels');
  t.is(await status('web.dev'), 'NXDOMAIN', 'a namespace outside namespace_labels');

  // Labels change: the namespace comes in, the Service that gains the label too.
  await c.client.patch(resources.namespaces, 'dev', { metadata: { labels: { team: 'a' } } }, 'merge');
  await waitFor(async () => (await status('web.dev')) === 'NOERROR', 10_000, 'web.dev after its namespace is labelled');
  await c.client.patch(resources.services, 'other', { metadata: { labels: { env: 'staging' } } }, 'merge', { namespace: 'prod' });
  await waitFor(async () => (await status('other.prod')) === 'NOERROR', 10_000, 'other.prod after it is labelled');
  t.is(await status('web.prod'), 'NOERROR');

  // A label that goes: the Service the informer listed leaves the selector.
  await c.client.patch(resources.services, 'web', { metadata: { labels: { env: 'test' } } }, 'merge', { namespace: 'prod' });
  await waitFor(async () => (await status('web.prod')) === 'NXDOMAIN', 10_000, 'web.prod after its label changes');
});

test('endpoint URL, and kubeconfig FILE CONTEXT (over endpoint), reach the API server without --server', async (t) => {
  const c = await startCluster(t);
  await namespace(c, 'prod', {});
  await createService(c, clusterIPService('prod', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.1.1' }));
  const block = (port: number, options: string) => `.:${port} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes ${Z} {\n${options}\n  }\n  forward . 127.0.0.1:9\n}\n`;
  const viaEndpoint = await startConf(t, undefined, block(await freePort(), `    endpoint ${c.url} http://127.0.0.1:9`));
  t.deepEqual((await dig(viaEndpoint, [`web.prod.svc.${Z}`, 'A'])).answer, [`web.prod.svc.${Z}. 5 IN A 10.96.1.1`]);
  const kubeconfigPort = await freePort();
  const viaKubeconfig = await startConf(t, undefined, (dir) => {
    // The current context names nothing that answers: the context the Corefile names is used.
    writeFileSync(join(dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\ncurrent-context: dead\ncontexts:\n- name: dead\n  context: { cluster: dead }\n- name: lab\n  context: { cluster: lab }\nclusters:\n- name: dead\n  cluster: { server: http://127.0.0.1:9 }\n- name: lab\n  cluster: { server: ${c.url} }\n`);
    return block(kubeconfigPort, `    endpoint http://127.0.0.1:9\n    kubeconfig ${join(dir, 'kubeconfig')} lab`);
  });
  t.deepEqual((await dig(viaKubeconfig, [`web.prod.svc.${Z}`, 'A'])).answer, [`web.prod.svc.${Z}. 5 IN A 10.96.1.1`]);
});

test('startup_timeout: ferry dns listens once synced, or after the timeout with a warning', async (t) => {
  const c = await startCluster(t);
  const block = (port: number, url: string) => `.:${port} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes ${Z} {\n    endpoint ${url}\n    startup_timeout 10s\n  }\n  forward . 127.0.0.1:9\n}\n`;
  let log = () => '';
  await startConf(t, undefined, block(await freePort(), c.url), { log: (l) => (log = l) });
  const synced = log().indexOf('Informers synced');
  t.true(synced >= 0 && synced < log().indexOf('Serving DNS'), 'synced before serving');

  const started = Date.now();
  await startConf(t, undefined, block(await freePort(), 'http://127.0.0.1:9').replace('10s', '1s'), { waitReady: false, log: (l) => (log = l) });
  t.true(Date.now() - started >= 1000, 'waited for the timeout');
  t.regex(log(), /Kubernetes API not synced[^\n]*\n(.*\n)*.*Serving DNS/);
});
