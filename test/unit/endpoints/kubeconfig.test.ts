import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig } from '../../../src/client/kubeconfig.ts';
import { KubeconfigError } from '../../../src/client/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-kubeconfig-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
writeFileSync(join(dir, 'token'), 'file-token\n');

function kubeconfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const full = kubeconfig('full.yaml', `
apiVersion: v1
kind: Config
current-context: lab
contexts:
- name: other
  context: { cluster: nowhere, user: nobody }
- name: lab
  context: { cluster: lab, user: admin }
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.pem
    tls-server-name: apiserver.lab
users:
- name: admin
  user:
    token: s3cret
    client-certificate-data: ${Buffer.from('CERT').toString('base64')}
    client-key-data: ${Buffer.from('KEY').toString('base64')}
`);

const insecure = kubeconfig('insecure.yaml', `
current-context: c
contexts: [{ name: c, context: { cluster: c, user: u } }]
clusters: [{ name: c, cluster: { server: 'https://10.0.0.1', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { tokenFile: token } }]
`);

const cases: Array<{ name: string; options: Parameters<typeof loadClientConfig>[0]; expect: Record<string, unknown> | RegExp }> = [
  {
    name: 'current context with CA file (relative), token and client cert data',
    options: { kubeconfig: full, env: {} },
    expect: { server: 'https://127.0.0.1:6443', ca: 'CA-PEM', token: 's3cret', clientCert: 'CERT', clientKey: 'KEY', tlsServerName: 'apiserver.lab', insecureSkipTlsVerify: false },
  },
  { name: '--server overrides the kubeconfig server', options: { kubeconfig: full, server: 'unix:///run/ferry.sock', env: {} }, expect: { server: 'unix:///run/ferry.sock', token: 's3cret' } },
  { name: '$KUBECONFIG is used without --kubeconfig', options: { env: { KUBECONFIG: `${join(dir, 'missing')}:${insecure}` } }, expect: { server: 'https://10.0.0.1', insecureSkipTlsVerify: true, tokenFile: join(dir, 'token') } },
  { name: 'plain --server', options: { server: 'http://127.0.0.1:6443', env: {} }, expect: { server: 'http://127.0.0.1:6443' } },
  { name: 'nothing configured', options: { env: {} }, expect: /no apiserver configured/ },
  { name: 'missing file', options: { kubeconfig: join(dir, 'nope'), env: {} }, expect: /kubeconfig .*nope: ENOENT/ },
  { name: 'invalid YAML', options: { kubeconfig: kubeconfig('bad.yaml', 'a: [b'), env: {} }, expect: /invalid YAML/ },
  { name: 'no current context', options: { kubeconfig: kubeconfig('nocur.yaml', 'clusters: []'), env: {} }, expect: /no current-context/ },
  { name: 'context names a missing cluster', options: { kubeconfig: kubeconfig('nocluster.yaml', 'current-context: x\ncontexts: [{name: x, context: {cluster: y}}]'), env: {} }, expect: /cluster "y" of context "x" not found/ },
  { name: 'CA file missing', options: { kubeconfig: kubeconfig('noca.yaml', 'current-context: x\ncontexts: [{name: x, context: {cluster: y}}]\nclusters: [{name: y, cluster: {server: "https://a", certificate-authority: /nonexistent/ca}}]'), env: {} }, expect: /cluster CA \/nonexistent\/ca: ENOENT/ },
];

for (const tc of cases) {
  test(tc.name, (t) => {
    if (tc.expect instanceof RegExp) {
      const err = t.throws(() => loadClientConfig(tc.options));
      t.true(err instanceof KubeconfigError);
      t.regex(err!.message, tc.expect);
      return;
    }
    const got = loadClientConfig(tc.options) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(tc.expect)) t.deepEqual(Buffer.isBuffer(got[k]) ? String(got[k]) : got[k], v, k);
  });
}

test('in-cluster config from the service account directory', (t) => {
  const sa = join(dir, 'sa');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'sa-token');
  writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
  const got = loadClientConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
  t.is(got.server, 'https://[fd00::1]:443');
  t.is(got.tokenFile, join(sa, 'token'));
  t.is(String(got.ca), 'SA-CA');
});

test('exec credential plugins are refused with a clear message', (t) => {
  const file = kubeconfig('exec.yaml', 'current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://a"}}]\nusers: [{name: u, user: {exec: {command: aws}}}]');
  t.throws(() => loadClientConfig({ kubeconfig: file, env: {} }), { message: /user "u" uses exec credentials, which ferry does not support/ });
});

test('a named context is used instead of the current-context (CoreDNS kubeconfig FILE CONTEXT)', (t) => {
  const two = kubeconfig('two-contexts.yaml', `
apiVersion: v1
kind: Config
current-context: a
contexts:
- name: a
  context: { cluster: a }
- name: b
  context: { cluster: b }
clusters:
- name: a
  cluster: { server: http://127.0.0.1:1001 }
- name: b
  cluster: { server: http://127.0.0.1:1002 }
`);
  t.is(loadClientConfig({ kubeconfig: two, env: {} }).server, 'http://127.0.0.1:1001');
  t.is(loadClientConfig({ kubeconfig: two, context: 'b', env: {} }).server, 'http://127.0.0.1:1002');
  t.throws(() => loadClientConfig({ kubeconfig: two, context: 'c', env: {} }), { instanceOf: KubeconfigError, message: /context "c" not found/ });
});
