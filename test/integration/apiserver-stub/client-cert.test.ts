import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { until } from '../../helpers/until.ts';
import { kubectl, kubectls, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (authentication): a client certificate signed by the client CA
 * is its CommonName in its Organizations, as kube's x509 authenticator; one
 * from another CA authenticates nobody (401 when tokens are required), and
 * RBAC binds the certificate's groups. Checked with kubectl's
 * --client-certificate and with curl.
 */
function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** makeCa and sign build a throwaway PKI with openssl, as a kubeadm admin would for a new user. */
function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`]);
}

function sign(dir: string, ca: string, name: string, subject: string, ext?: string): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', ...(ext ? ['-extfile', ext] : [])]);
}

test('client certificates: CN is the user and O the groups; another CA\'s certificate is a 401; RBAC binds the groups', async (t) => {
  const dir = await tempDir(t, 'ferry-client-cert-');
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${join(dir, 'server.ext')}`]);
  sign(dir, 'ca', 'server', '/CN=kube-apiserver', join(dir, 'server.ext'));
  sign(dir, 'ca', 'jane', '/O=devs/O=ops/CN=jane');
  sign(dir, 'other-ca', 'mallory', '/O=system:masters/CN=mallory');
  const server = new ApiServer({ backend: createBackend('memory', {}), authorizationMode: 'RBAC', tokens: new Map([['root', { name: 'root', uid: '0', groups: ['system:masters'] }]]) });
  await server.start();
  t.teardown(() => server.close());
  const { port } = await server.listen('127.0.0.1', 0, { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt') });
  const url = `https://127.0.0.1:${port}`;
  // Not execFileSync: the server answers from this process.
  const curl = async (who: string | undefined, path: string) => (await promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'ca.crt'), ...(who ? ['--cert', join(dir, `${who}.crt`), '--key', join(dir, `${who}.key`)] : []), `${url}${path}`], { encoding: 'utf8' })).stdout;

  const bin = kubectls()[0]!;
  const cache = join(dir, 'cache');
  const asJane = ['--certificate-authority', join(dir, 'ca.crt'), '--client-certificate', join(dir, 'jane.crt'), '--client-key', join(dir, 'jane.key')];
  const who = await kubectl(bin, url, cache, [...asJane, 'auth', 'whoami', '-o', 'json']);
  t.is(who.code, 0, who.stderr);
  t.deepEqual(JSON.parse(who.stdout).status.userInfo, { username: 'jane', groups: ['devs', 'ops', 'system:authenticated'] });
  t.is(await curl('jane', '/api/v1/namespaces/default/pods'), '403', 'authenticated, not yet allowed');
  t.is(await curl('mallory', '/api/v1/namespaces/default/pods'), '401', 'a certificate from another CA is nobody, whatever its O says');
  t.is(await curl(undefined, '/api/v1/namespaces/default/pods'), '401');

  const root = ['--certificate-authority', join(dir, 'ca.crt'), '--token', 'root'];
  const bind = await kubectl(bin, url, cache, [...root, 'create', 'clusterrolebinding', 'devs-view', '--clusterrole=view', '--group=devs']);
  t.is(bind.code, 0, bind.stderr);
  await until('the binding reaches the authorizer', async () => (await curl('jane', '/api/v1/namespaces/default/pods')) === '200', 5000);
  const write = await kubectl(bin, url, cache, [...asJane, 'create', 'configmap', 'x']);
  t.regex(write.stderr, /User "jane" cannot create resource "configmaps"/);
});
