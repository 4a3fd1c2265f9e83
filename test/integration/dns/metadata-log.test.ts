/**
 * `metadata` with `log`'s `{/label}` placeholders end to end: `ferry dns
 * -conf` against a `ferry apiserver`, with `kubernetes { pods verified }`,
 * logs the namespace, name and labels of the pod a query came from
 * (`dig -b` picks the source address on loopback), and the parts of the
 * name asked; a client no pod holds prints `-`. Every query is logged, also
 * a repeated one (the batched UDP worker must not answer it unseen).
 */
import test from 'ava';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { clusterIPService, createNamespace, createService, dig, startCluster, startFerryDnsConf, waitFor, writeCorefile, type Teardown } from './harness.ts';

const Z = 'cluster.local';

const startConf = async (t: Teardown, url: string, corefile: string) => (await startFerryDnsConf(t, writeCorefile(t, corefile), { url })).log;

test('log "{/kubernetes/client-namespace} ..." names the client pod of each query and the parts of its name', async (t) => {
  const c = await startCluster(t);
  await createNamespace(c, 'prod');
  await createNamespace(c, 'clients');
  await createService(c, clusterIPService('prod', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.1.1' }));
  const pod = await c.client.create<Pod>(resources.pods, {
    apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'clients', name: 'curl-1', labels: { app: 'curl' } }, spec: { containers: [{ name: 'c', image: 'none' }] },
  }, { namespace: 'clients' });
  await c.client.updateStatus<Pod>(resources.pods, { ...pod, status: { phase: 'Running', podIP: '127.0.0.2', podIPs: [{ ip: '127.0.0.2' }] } });

  const port = await freePort();
  const format = '{/kubernetes/client-namespace}/{/kubernetes/client-pod-name} app={/kubernetes/client-label/app} {type} {name} {proto} svc={/kubernetes/service} ns={/kubernetes/namespace} {rcode} {/log/class}';
  const log = await startConf(t, c.url, `.:${port} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  metadata\n  kubernetes ${Z} {\n    pods verified\n  }\n  log . "${format}"\n  forward . 127.0.0.1:9\n}\n`);
  const lines = () => log().split('\n').filter((l) => / dns\] .* (udp|tcp) svc=/.test(l)).map((l) => l.replace(/^.* dns\] /, ''));

  // The pod informer may list after /ready's first answer on another informer: wait for the client pod to be known.
  await waitFor(async () => {
    await dig(port, ['-b', '127.0.0.2', `web.prod.svc.${Z}`, 'A']);
    return lines().some((l) => l.startsWith('clients/curl-1 '));
  }, 10_000, 'the client pod in the log');
  const before = lines().length;
  t.deepEqual((await dig(port, ['-b', '127.0.0.2', `web.prod.svc.${Z}`, 'A'])).answer, [`web.prod.svc.${Z}. 5 IN A 10.96.1.1`]);
  await dig(port, ['-b', '127.0.0.2', `_http._tcp.web.prod.svc.${Z}`, 'SRV', '+tcp']);
  await dig(port, ['-b', '127.0.0.1', `nothere.prod.svc.${Z}`, 'A']);
  await waitFor(() => lines().length >= before + 3, 5000, 'three more log lines');
  t.deepEqual(lines().slice(before), [
    `clients/curl-1 app=curl A web.prod.svc.${Z}. udp svc=web ns=prod NOERROR success`,
    `clients/curl-1 app=curl SRV _http._tcp.web.prod.svc.${Z}. tcp svc=web ns=prod NOERROR success`,
    `-/- app=- A nothere.prod.svc.${Z}. udp svc=nothere ns=prod NXDOMAIN denial`,
  ]);
});
