import test from 'ava';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod, Secret } from 'kubernetes-types/core/v1.js';
import { podDir, prepareVolumes, refreshTokens, removePodDir, VolumeError } from '../../../src/lab/pod-volumes.ts';

const id = (what: string) => `fytest-${process.pid}-${what}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { user: b64('admin'), password: b64('s3cret') } };
const secretGetter = async (ns: string, name: string) => (ns === 'default' && name === 'db' ? secret : undefined);
const noConfigMaps = async () => undefined;

function pod(volumes: NonNullable<Pod['spec']>['volumes']): Pod {
  return { metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'busybox' }], volumes } };
}

test('secret volumes: keys decoded into files (defaultMode, items with their own mode), also as a projected source', async (t) => {
  const dir = id('secret');
  t.teardown(() => removePodDir(dir));
  const volumes = await prepareVolumes(dir, pod([
    { name: 'all', secret: { secretName: 'db', defaultMode: 0o400 } },
    { name: 'one', secret: { secretName: 'db', items: [{ key: 'password', path: 'pw/file', mode: 0o600 }] } },
    { name: 'mixed', projected: { sources: [{ secret: { name: 'db', items: [{ key: 'user', path: 'user' }] } }] } },
  ]), { configMap: noConfigMaps, secret: secretGetter });
  const all = volumes.get('all')!;
  t.is(readFileSync(join(all, 'password'), 'utf8'), 's3cret');
  t.is(statSync(join(all, 'user')).mode & 0o777, 0o400);
  t.is(readFileSync(join(volumes.get('one')!, 'pw/file'), 'utf8'), 's3cret');
  t.is(statSync(join(volumes.get('one')!, 'pw/file')).mode & 0o777, 0o600);
  t.is(readFileSync(join(volumes.get('mixed')!, 'user'), 'utf8'), 'admin');
});

test('secret volumes: a missing Secret is waited for (missing), unless optional; a missing key is an error', async (t) => {
  const dir = id('secret-missing');
  t.teardown(() => removePodDir(dir));
  const from = { configMap: noConfigMaps, secret: secretGetter };
  const missing = await t.throwsAsync(prepareVolumes(dir, pod([{ name: 'v', secret: { secretName: 'nope' } }]), from), { instanceOf: VolumeError });
  t.true(missing.missing);
  t.regex(missing.message, /secret "nope" not found/);
  await t.notThrowsAsync(prepareVolumes(dir, pod([{ name: 'v', secret: { secretName: 'nope', optional: true } }]), from));
  const key = await t.throwsAsync(prepareVolumes(dir, pod([{ name: 'v', secret: { secretName: 'db', items: [{ key: 'absent', path: 'x' }] } }]), from), { instanceOf: VolumeError });
  t.false(key.missing);
});

test('refreshTokens: a projected ServiceAccount token is asked for again before it expires', async (t) => {
  const dir = id('token');
  t.teardown(() => removePodDir(dir));
  let issued = 0;
  const from = { configMap: noConfigMaps, token: async () => `token-${++issued}` };
  // One second of life (the API asks for at least ten minutes; the agent takes what the pod says): renewed at 0.8 s.
  const p = pod([{ name: 'sa', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 1 } }] } }]);
  await prepareVolumes(dir, p, from);
  const file = join(podDir(dir), 'volumes', 'sa', 'token');
  t.is(readFileSync(file, 'utf8'), 'token-1');
  const stop = refreshTokens(dir, p, from);
  await sleep(1000);
  stop();
  t.is(readFileSync(file, 'utf8'), 'token-2');
  await sleep(1000);
  t.is(readFileSync(file, 'utf8'), 'token-2', 'stopped');
});
