import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addAddress } from '../../../src/lab/netns.ts';
import { NetnsFixture, isRoot } from '../../helpers/netns-fixture.ts';
import { tempDir } from './server-fixture.ts';

/**
 * Issue 17 (TLS and RBAC off loopback): `ferry apiserver --listen` on any
 * address but loopback serves HTTPS with a CA, certificate and admin token
 * it makes in its data dir, with RBAC on: the kubeconfig it writes verifies
 * the server and is cluster-admin; anonymous requests get 401 but for
 * /version and health; plain HTTP is not served. Run in a test namespace
 * (its address is on the namespace's loopback link).
 */
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test : test.skip;

rootTest('ferry apiserver off loopback: HTTPS with its own CA, an admin kubeconfig, RBAC; anonymous 401', async (t) => {
  const lab = new NetnsFixture(t);
  const ns = await lab.add('tls');
  await addAddress(ns, 'lo', '10.77.0.1/32');
  const dir = await tempDir(t);
  const child = lab.spawn(ns, ferryBin, ['apiserver', '--listen', '10.77.0.1:6443', '--storage', 'memory', '--data-dir', dir]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (const deadline = Date.now() + 30_000; !/KUBECONFIG=/.test(out); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start banner: ${out} ${err}`);
  }
  t.regex(out, /listening on https:\/\/10\.77\.0\.1:6443/);
  const config = await readFile(join(dir, 'kubeconfig'), 'utf8');
  t.regex(config, /certificate-authority-data: /);
  t.notRegex(config, /insecure-skip-tls-verify/);
  t.regex(err, /authorizationMode=Node,RBAC/);

  const kubectl = (...args: string[]) => lab.exec(ns, 'kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { allowFailure: true });
  const got = await kubectl('get', 'ns', '-o', 'name');
  t.is(got.code, 0, got.stderr);
  t.regex(got.stdout, /namespace\/kube-system/);
  const who = await kubectl('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}');
  t.is(who.stdout, 'admin ["system:masters","system:authenticated"]', who.stderr);
  t.is((await kubectl('auth', 'can-i', '*', '*', '-A')).stdout.trim(), 'yes');

  const ca = join(dir, 'pki', 'ca.crt');
  const curl = async (url: string, ...extra: string[]) => (await lab.exec(ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', ca, ...extra, url], { allowFailure: true })).stdout;
  t.is(await curl('https://10.77.0.1:6443/api/v1/namespaces'), '401');
  t.is(await curl('https://10.77.0.1:6443/version'), '200');
  t.is(await curl('https://10.77.0.1:6443/readyz'), '200');
  t.is(await curl('https://kubernetes.default.svc:6443/version', '--resolve', 'kubernetes.default.svc:6443:10.77.0.1'), '200', 'the certificate names the kubernetes Service');
  t.not(await curl('http://10.77.0.1:6443/version'), '200', 'no plain HTTP');
});
