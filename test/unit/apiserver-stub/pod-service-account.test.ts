import test from 'ava';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../../../src/apiserver-stub/errors.ts';
import { admitPodServiceAccount, admitServiceAccount, SERVICE_ACCOUNT_MOUNT, type ServiceAccountLookup } from '../../../src/apiserver-stub/strategies/pod-service-account.ts';

const pod = (spec: Pod['spec']): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });

test('ServiceAccount admission: default account, a kube-api-access projected volume mounted read-only in every container', (t) => {
  const p = pod({ initContainers: [{ name: 'init', image: 'busybox' }], containers: [{ name: 'app', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', emptyDir: {} }] });
  admitServiceAccount(p);
  const spec = p.spec!;
  t.is(spec.serviceAccountName, 'default');
  t.is(spec.serviceAccount, 'default');
  const vol = spec.volumes![1]!;
  t.regex(vol.name, /^kube-api-access-[a-z0-9]{5}$/);
  t.deepEqual(vol.projected!.sources!.map((s) => Object.keys(s)[0]), ['serviceAccountToken', 'configMap', 'downwardAPI']);
  t.like(vol.projected!.sources![0]!, { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } });
  t.like(vol.projected!.sources![1]!, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  for (const c of [...spec.initContainers!, ...spec.containers]) t.deepEqual(c.volumeMounts!.at(-1), { name: vol.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT });
  t.is(spec.containers[0]!.volumeMounts!.length, 2, 'the container keeps its own mounts');
});

test('ServiceAccount admission: a named account (or the deprecated field) is kept; automount false and own mounts add nothing', (t) => {
  const named = pod({ serviceAccount: 'robot', containers: [{ name: 'c', image: 'x' }] });
  admitServiceAccount(named);
  t.is(named.spec!.serviceAccountName, 'robot');
  const off = pod({ serviceAccountName: 'robot', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'x' }] });
  admitServiceAccount(off);
  t.is(off.spec!.volumes, undefined);
  const own = pod({ containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT }] }], volumes: [{ name: 'mine', emptyDir: {} }] });
  admitServiceAccount(own);
  t.is(own.spec!.volumes!.length, 1);
});

const inNs = (spec: Pod['spec'], meta: Pod['metadata'] = { name: 'p' }): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'team', ...meta }, spec });

test('ServiceAccount admission on create: a missing account is 403 with kube\'s message, naming the pod or its generateName', async (t) => {
  const lookups: string[] = [];
  const none: ServiceAccountLookup = async (ns, name) => void lookups.push(`${ns}/${name}`);
  const error = await t.throwsAsync(admitPodServiceAccount(inNs({ serviceAccountName: 'robot', containers: [{ name: 'c', image: 'x' }] }), none), { instanceOf: ApiError });
  t.is(error!.status.code, 403);
  t.is(error!.message, 'pods "p" is forbidden: error looking up service account team/robot: serviceaccount "robot" not found');
  t.deepEqual(lookups, ['team/robot'], 'a named account is looked up once');
  const generated = await t.throwsAsync(admitPodServiceAccount(inNs({ serviceAccountName: 'robot', containers: [{ name: 'c', image: 'x' }] }, { generateName: 'web-5d7c9-' }), none));
  t.regex(generated!.message, /^pods "web-5d7c9-" is forbidden: /);
});

test('ServiceAccount admission on create: `default` is looked up again for a while (the controller makes it just after the namespace)', async (t) => {
  let calls = 0;
  const appearsLate: ServiceAccountLookup = async () => (++calls < 3 ? undefined : { metadata: { name: 'default', namespace: 'team' } });
  const p = inNs({ containers: [{ name: 'c', image: 'x' }] });
  await admitPodServiceAccount(p, appearsLate);
  t.is(calls, 3);
  t.is(p.spec!.serviceAccountName, 'default');
  t.truthy(p.spec!.volumes?.[0]?.projected);
  const started = Date.now();
  await t.throwsAsync(admitPodServiceAccount(inNs({ containers: [{ name: 'c', image: 'x' }] }), async () => undefined), { message: /serviceaccount "default" not found/ });
  const waited = Date.now() - started;
  t.true(waited >= 900 && waited < 2500, `waited ${waited} ms over 10 lookups 100-200 ms apart`);
});

test('ServiceAccount admission on create: the account\'s automount and imagePullSecrets apply unless the pod says otherwise; mirror pods name none', async (t) => {
  const account: ServiceAccount = { metadata: { name: 'robot' }, automountServiceAccountToken: false, imagePullSecrets: [{ name: 'registry' }] };
  const found: ServiceAccountLookup = async () => account;
  const p = inNs({ serviceAccountName: 'robot', containers: [{ name: 'c', image: 'x' }] });
  await admitPodServiceAccount(p, found);
  t.is(p.spec!.volumes, undefined, 'the account turns automount off');
  t.deepEqual(p.spec!.imagePullSecrets, [{ name: 'registry' }]);
  const own = inNs({ serviceAccountName: 'robot', automountServiceAccountToken: true, imagePullSecrets: [{ name: 'mine' }], containers: [{ name: 'c', image: 'x' }] });
  await admitPodServiceAccount(own, found);
  t.is(own.spec!.volumes!.length, 1, "the pod's choice wins");
  t.deepEqual(own.spec!.imagePullSecrets, [{ name: 'mine' }]);
  const mirror = (spec: Pod['spec']) => inNs(spec, { name: 'static-node-a', annotations: { 'kubernetes.io/config.mirror': 'hash' } });
  await t.throwsAsync(admitPodServiceAccount(mirror({ serviceAccountName: 'robot', containers: [{ name: 'c', image: 'x' }] }), found), { message: 'pods "static-node-a" is forbidden: a mirror pod may not reference service accounts' });
  const plain = mirror({ containers: [{ name: 'c', image: 'x' }] });
  await admitPodServiceAccount(plain, async () => undefined);
  t.is(plain.spec!.serviceAccountName, undefined, 'a mirror pod is left as it is');
});
