import test from 'ava';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { execFile } from '../../../src/util/exec.ts';
import { until } from '../../helpers/until.ts';
import { startApiserverProcess, tempDir } from './server-fixture.ts';

/**
 * Issue 17, acceptance 5: with `ferry apiserver`'s defaults (HTTPS with its
 * own CA, an admin token, Node,RBAC) the kubeconfig it writes works as it is
 * in @kubernetes/client-node (a list and an informer) and in Debian's
 * python3-kubernetes (`config.load_kube_config`), and a request without
 * credentials is a 401 while health and version stay public.
 */
const PYTHON_CLIENT = `
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
v1.create_namespaced_config_map('default', {'metadata': {'name': 'from-python'}, 'data': {'k': 'v'}})
names = [n.metadata.name for n in v1.list_namespace().items]
cm = v1.read_namespaced_config_map('from-python', 'default')
print(json.dumps({'namespaces': names, 'data': cm.data, 'host': v1.api_client.configuration.host}))
`;

test('client-node and python3-kubernetes work over HTTPS with the kubeconfig ferry apiserver writes; anonymous is a 401', async (t) => {
  const dir = await tempDir(t);
  await startApiserverProcess(t, ['--data-dir', dir]);
  const kubeconfig = join(dir, 'kubeconfig');

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = kc.getCurrentCluster()!.server;
  t.regex(server, /^https:\/\/127\.0\.0\.1:\d+$/);
  const api = kc.makeApiClient(CoreV1Api);
  t.true((await api.listNamespace()).items.some((n) => n.metadata?.name === 'kube-system'));
  const informer = makeInformer<V1ConfigMap>(kc, '/api/v1/namespaces/default/configmaps', () => api.listNamespacedConfigMap({ namespace: 'default' }));
  const added: string[] = [];
  informer.on('add', (cm) => added.push(cm.metadata!.name!));
  await informer.start();
  t.teardown(() => informer.stop());

  const python = await execFile('/usr/bin/python3', ['-c', PYTHON_CLIENT, kubeconfig], { allowFailure: true, timeoutMs: 60_000 });
  t.is(python.code, 0, python.stderr);
  const seen = JSON.parse(python.stdout.trim().split('\n').pop()!) as { namespaces: string[]; data: Record<string, string>; host: string };
  t.is(seen.host, server);
  t.true(seen.namespaces.includes('default'));
  t.deepEqual(seen.data, { k: 'v' });
  t.true(await until('the client-node informer sees what python made', async () => added.includes('from-python'), 10_000));

  const curl = async (path: string) => (await execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'pki', 'ca.crt'), `${server}${path}`])).stdout;
  t.is(await curl('/api/v1/namespaces'), '401');
  t.is(await curl('/version'), '200');
  t.is(await curl('/readyz'), '200');
});
