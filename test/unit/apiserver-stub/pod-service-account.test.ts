import test from 'ava';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { admitServiceAccount, SERVICE_ACCOUNT_MOUNT } from '../../../src/apiserver-stub/strategies/pod-service-account.ts';

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
