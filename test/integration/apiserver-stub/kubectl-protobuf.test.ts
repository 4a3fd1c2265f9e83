import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, tempDir } from './server-fixture.ts';
import { envelope, msg, str } from '../../unit/kube/protobuf/wire-builder.ts';

/**
 * kubectl 1.32 sends typed creates as application/vnd.kubernetes.protobuf and
 * does not fall back to JSON on a 415 for protobuf: the apiserver must decode
 * them, and must answer in JSON (kubectl accepts `protobuf, json`).
 */
const bin = '/usr/bin/kubectl';

async function startFerryApiserver(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await tempDir(t);
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--disable-admission-plugins', 'ServiceAccount', '--listen', '127.0.0.1:0', '--storage', 'memory', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start banner: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
}

test('kubectl 1.32 typed creates over protobuf are stored with the fields it sent', async (t) => {
  if (!existsSync(bin)) return t.pass('no /usr/bin/kubectl on this machine');
  const url = await startFerryApiserver(t);
  const cache = join(await tempDir(t), 'cache');
  const k = async (...args: string[]): Promise<string> => {
    const r = await kubectl(bin, url, cache, args);
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  // create runs a kubectl create with request tracing and returns the body's media type.
  const create = async (...args: string[]): Promise<string> => {
    const r = await kubectl(bin, url, cache, ['-v=8', ...args]);
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return /POST http[^\n]*\n(?:[^\n]*\n)*?[^\n]*Content-Type: (\S+)/.exec(r.stderr)?.[1] ?? 'none';
  };
  const protobuf = 'application/vnd.kubernetes.protobuf';
  const getJson = async (...args: string[]): Promise<Record<string, any>> => JSON.parse(await k('get', ...args, '-o', 'json'));

  // Prove the wire: a protobuf request body, a JSON answer kubectl accepts.
  const traced = await kubectl(bin, url, cache, ['-v=8', 'create', 'namespace', 'pb']);
  t.is(traced.code, 0, traced.stderr);
  t.regex(traced.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  t.regex(traced.stderr, /Accept: application\/vnd\.kubernetes\.protobuf,\s*application\/json/);
  t.regex(traced.stderr, /Response Status: 201 Created[\s\S]*Content-Type: application\/json/);
  t.is((await getJson('ns', 'pb')).metadata.name, 'pb');

  t.is(await create('create', 'deployment', 'web', '--image=ferry/agnhost', '--replicas=4', '--', 'netexec'), protobuf);
  const deploy = await getJson('deploy', 'web');
  t.is(deploy.spec.replicas, 4);
  t.deepEqual(deploy.spec.selector, { matchLabels: { app: 'web' } });
  t.deepEqual(deploy.spec.template.metadata.labels, { app: 'web' });
  const container = deploy.spec.template.spec.containers[0];
  t.is(container.image, 'ferry/agnhost');
  // `create deployment -- X` puts X in command (kubectl 1.31's JSON body does the same).
  t.deepEqual(container.command, ['netexec']);
  t.is(container.name, 'agnhost');
  t.is(deploy.spec.template.metadata.creationTimestamp ?? null, null);

  t.is(await create('create', 'service', 'clusterip', 's1', '--tcp=80:8080'), protobuf);
  const s1 = await getJson('svc', 's1');
  t.is(s1.spec.type, 'ClusterIP');
  t.deepEqual(s1.spec.selector, { app: 's1' });
  t.like(s1.spec.ports[0], { name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' });
  t.regex(s1.spec.clusterIP, /^10\./);

  t.is(await create('create', 'service', 'nodeport', 's2', '--tcp=80:8080'), protobuf);
  const s2 = await getJson('svc', 's2');
  t.is(s2.spec.type, 'NodePort');
  t.like(s2.spec.ports[0], { port: 80, targetPort: 8080 });
  t.true(s2.spec.ports[0].nodePort >= 30000 && s2.spec.ports[0].nodePort <= 32767);

  t.is(await create('create', 'configmap', 'c1', '--from-literal=a=b'), protobuf);
  t.deepEqual((await getJson('cm', 'c1')).data, { a: 'b' });

  // kubectl run builds its pod as unstructured and sends JSON even in 1.32.
  t.is(await create('run', 'p1', '--image=ferry/agnhost', '--', 'netexec'), 'application/json');
  const pod = await getJson('pod', 'p1');
  t.deepEqual(pod.metadata.labels, { run: 'p1' });
  t.like(pod.spec.containers[0], { name: 'p1', image: 'ferry/agnhost', args: ['netexec'] });
});

test('a protobuf body with a field we have no table for is a 415 naming it, and nothing is stored', async (t) => {
  const url = await startFerryApiserver(t);
  // Pod{metadata{name=p9}, spec{containers[{name=c, securityContext=15{}}]}}
  const body = envelope('v1', 'Pod', [...msg(1, str(1, 'p9')), ...msg(2, msg(2, str(1, 'c'), msg(15)))]);
  const res = await fetch(`${url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' }, body });
  t.is(res.status, 415);
  t.is(res.headers.get('content-type'), 'application/json');
  const status = (await res.json()) as { reason: string; message: string };
  t.is(status.reason, 'UnsupportedMediaType');
  t.regex(status.message, /Container field number 15/);
  t.regex(status.message, /application\/json/);
  t.is((await fetch(`${url}/api/v1/namespaces/default/pods/p9`)).status, 404);

  const truncated = await fetch(`${url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' }, body: body.subarray(0, body.length - 2) });
  t.is(truncated.status, 400);
  t.is(((await truncated.json()) as { reason: string }).reason, 'BadRequest');
});

const jsonKubectl = '/usr/lib/google-cloud-sdk/bin/kubectl.1.31';

test('objects created over protobuf (kubectl 1.32) are stored as the same objects kubectl 1.31 sends as JSON', async (t) => {
  if (!existsSync(bin) || !existsSync(jsonKubectl)) return t.pass('needs both /usr/bin/kubectl and kubectl.1.31');
  const url = await startFerryApiserver(t);
  const cache = join(await tempDir(t), 'cache');
  const run = async (kubectlBin: string, args: string[]): Promise<string> => {
    const r = await kubectl(kubectlBin, url, cache, args);
    t.is(r.code, 0, `${kubectlBin} ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  // Everything the server assigns differs between two objects; the rest must not.
  const stored = async (resource: string, name: string): Promise<unknown> => {
    const obj = JSON.parse(await run(bin, ['get', resource, name, '-o', 'json']));
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp']) delete obj.metadata[k];
    if (obj.spec?.clusterIP) for (const k of ['clusterIP', 'clusterIPs']) delete obj.spec[k];
    for (const p of obj.spec?.ports ?? []) delete p.nodePort;
    return JSON.parse(JSON.stringify(obj).replaceAll(name, 'NAME'));
  };
  const commands: Array<{ resource: string; args: (name: string) => string[] }> = [
    { resource: 'ns', args: (n) => ['create', 'namespace', n] },
    { resource: 'deploy', args: (n) => ['create', 'deployment', n, '--image=ferry/agnhost', '--replicas=4', '--port=8080', '--', 'netexec'] },
    { resource: 'svc', args: (n) => ['create', 'service', 'clusterip', n, '--tcp=80:8080', '--tcp=81:http'] },
    { resource: 'svc', args: (n) => ['create', 'service', 'nodeport', n, '--tcp=80:8080'] },
    { resource: 'svc', args: (n) => ['create', 'service', 'externalname', n, '--external-name=example.com'] },
    { resource: 'cm', args: (n) => ['create', 'configmap', n, '--from-literal=a=b', '--from-literal=c='] },
  ];
  for (const [i, c] of commands.entries()) {
    await run(bin, c.args(`pb${i}`));
    await run(jsonKubectl, c.args(`js${i}`));
    t.deepEqual(await stored(c.resource, `pb${i}`), await stored(c.resource, `js${i}`), c.args('X').join(' '));
  }
});
