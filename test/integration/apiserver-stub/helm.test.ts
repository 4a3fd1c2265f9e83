import test from 'ava';
import { join } from 'node:path';
import { execFile } from '../../../src/util/exec.ts';
import { startApiserverProcess, tempDir } from './server-fixture.ts';

/**
 * Issues 16 (acceptance 4) and 17 (acceptance 3): helm 4 with its defaults
 * (server-side apply, releases stored in Secrets) against `ferry apiserver`
 * with its defaults (HTTPS, its own CA and admin token, Node,RBAC), through
 * the kubeconfig the apiserver writes: `helm create`'s chart (a
 * ServiceAccount, a Service, a Deployment) is installed, listed, upgraded,
 * rolled back and uninstalled. helm is the official binary that
 * scripts/setup installs (see there).
 */
const HELM = '/usr/local/bin/helm';

test('helm create, install, list, upgrade, rollback, history and uninstall with helm\'s defaults', async (t) => {
  const dir = await tempDir(t, 'ferry-helm-');
  await startApiserverProcess(t, ['--data-dir', join(dir, 'data')]);
  const env = { ...process.env, KUBECONFIG: join(dir, 'data', 'kubeconfig'), HELM_CACHE_HOME: join(dir, 'helm-cache'), HELM_CONFIG_HOME: join(dir, 'helm-config'), HELM_DATA_HOME: join(dir, 'helm-data') };
  const run = async (file: string, args: string[]) => {
    const r = await execFile(file, args, { allowFailure: true, timeoutMs: 60_000, env });
    t.is(r.code, 0, `${file} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const helm = (...args: string[]) => run(HELM, args);
  const kubectl = (...args: string[]) => run('kubectl', ['--cache-dir', join(dir, 'kube-cache'), ...args]);
  const json = async <T>(...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json')) as T;
  type Deployment = { spec: { replicas: number }; metadata: { managedFields: Array<{ manager: string; operation: string }> } };

  const chart = join(dir, 'demo');
  await helm('create', chart);
  t.regex(await helm('install', 'web', chart), /STATUS: deployed/);
  t.regex(await helm('list'), /^web\s+default\s+1\s+.*\sdeployed\s+demo-0\.1\.0/m);
  t.is((await kubectl('get', 'serviceaccount,service,deployment', '-l', 'app.kubernetes.io/instance=web', '-o', 'name')).trim().split('\n').sort().join(' '),
    'deployment.apps/web-demo service/web-demo serviceaccount/web-demo');
  const deployment = await json<Deployment>('get', 'deployment', 'web-demo', '--show-managed-fields');
  t.is(deployment.spec.replicas, 1);
  t.true(deployment.metadata.managedFields.some((f) => f.manager === 'helm' && f.operation === 'Apply'), 'helm 4 applies server-side by default');
  const releases = async () => (await kubectl('get', 'secrets', '-l', 'owner=helm,name=web', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.type}{"\\n"}{end}')).trim().split('\n');
  t.deepEqual(await releases(), ['sh.helm.release.v1.web.v1 helm.sh/release.v1'], 'the release is stored in a Secret');

  t.regex(await helm('upgrade', 'web', chart, '--set', 'replicaCount=3'), /REVISION: 2/);
  t.is((await json<Deployment>('get', 'deployment', 'web-demo')).spec.replicas, 3);
  await helm('rollback', 'web', '1');
  t.is((await json<Deployment>('get', 'deployment', 'web-demo')).spec.replicas, 1);
  const history = await helm('history', 'web');
  t.regex(history, /^1\s.*superseded\s+demo-0\.1\.0.*Install complete/m);
  t.regex(history, /^3\s.*deployed\s+demo-0\.1\.0.*Rollback to 1/m);
  t.is((await releases()).length, 3);

  t.regex(await helm('uninstall', 'web'), /release "web" uninstalled/);
  t.is((await kubectl('get', 'serviceaccount,service,deployment,secret', '-l', 'app.kubernetes.io/instance=web', '-o', 'name')).trim(), '');
  t.is((await kubectl('get', 'secrets', '-l', 'owner=helm', '-o', 'name')).trim(), '', 'no release left');
  t.is((await helm('list', '-q')).trim(), '');
});
