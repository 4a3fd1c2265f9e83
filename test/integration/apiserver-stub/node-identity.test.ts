import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCa, ensureServingPki, issueClientCertificate } from '../../../src/apiserver-stub/pki.ts';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { kubectl, kubectls, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (least privilege): under `--authorization-mode=Node,RBAC` (the
 * default), a node agent with its client certificate (system:node:a in
 * system:nodes, as the lab issues them) reads the Secrets of its own pods
 * only, watches one by name, may not list them all, and modifies only its
 * own Node, in kube's words; checked with kubectl.
 */
test('a node\'s certificate reaches its pods\' objects and its own Node, nothing else', async (t) => {
  const dir = await tempDir(t, 'ferry-node-identity-');
  const pki = ensureServingPki(dir, ['IP:127.0.0.1']);
  const server = new ApiServer({ backend: createBackend('memory', {}), authorizationMode: ['Node', 'RBAC'], tokens: new Map([['root', { name: 'root', uid: '0', groups: ['system:masters'] }]]) });
  await server.start();
  t.teardown(() => server.close());
  const { port } = await server.listen('127.0.0.1', 0, { certFile: pki.certFile, keyFile: pki.keyFile, clientCaFile: pki.caFile });
  const url = `https://127.0.0.1:${port}`;
  const cert = await issueClientCertificate(ensureCa(dir), 'system:node:a', ['system:nodes']);
  await writeFile(join(dir, 'a.crt'), cert.cert);
  await writeFile(join(dir, 'a.key'), cert.key);
  const bin = kubectls()[0]!;
  const cache = join(dir, 'cache');
  const as = (who: string[]) => (args: string[], input?: string) => kubectl(bin, url, cache, ['--certificate-authority', pki.caFile, ...who, ...args], input);
  const root = as(['--token', 'root']);
  const nodeA = as(['--client-certificate', join(dir, 'a.crt'), '--client-key', join(dir, 'a.key')]);

  const setup = await root(['apply', '-f', '-'], [
    'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: default}',
    'apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: default}\nstringData: {k: v}',
    'apiVersion: v1\nkind: Secret\nmetadata: {name: other, namespace: default}\nstringData: {k: v}',
    'apiVersion: v1\nkind: Node\nmetadata: {name: b}',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  nodeName: a\n  containers: [{name: c, image: nginx}]\n  volumes: [{name: tls, secret: {secretName: tls}}]',
  ].join('\n---\n'));
  t.is(setup.code, 0, setup.stderr);

  const who = await nodeA(['auth', 'whoami', '-o', 'json']);
  t.is(who.code, 0, who.stderr);
  t.deepEqual(JSON.parse(who.stdout).status.userInfo, { username: 'system:node:a', groups: ['system:nodes', 'system:authenticated'] });
  const own = await nodeA(['get', 'secret', 'tls', '-o', 'name']);
  t.is(own.code, 0, own.stderr);
  t.is(own.stdout.trim(), 'secret/tls');
  const byName = await nodeA(['get', 'secrets', '--field-selector', 'metadata.name=tls', '-o', 'name']);
  t.is(byName.stdout.trim(), 'secret/tls', byName.stderr);
  const other = await nodeA(['get', 'secret', 'other']);
  t.not(other.code, 0);
  t.regex(other.stderr, /secrets "other" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object/);
  const all = await nodeA(['get', 'secrets', '-A']);
  t.regex(all.stderr, /is forbidden: User "system:node:a" cannot list resource "secrets"/);
  t.is((await nodeA(['get', 'pods', '-A', '-o', 'name'])).stdout.trim(), 'pod/web', 'pods are readable, as kube\'s system:node role has it');
  const registered = await nodeA(['create', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata: {name: a}');
  t.is(registered.code, 0, registered.stderr);
  const impostor = await nodeA(['create', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata: {name: c}');
  t.regex(impostor.stderr, /nodes "c" is forbidden: node "a" is not allowed to modify node "c"/);
  t.is((await nodeA(['label', 'node', 'a', 'ready=yes'])).code, 0);
  const foreign = await nodeA(['label', 'node', 'b', 'taken=yes']);
  t.regex(foreign.stderr, /node "a" is not allowed to modify node "b"/);
  const deploy = await nodeA(['create', 'deployment', 'x', '--image=nginx']);
  t.regex(deploy.stderr, /cannot create resource "deployments"/);
});
