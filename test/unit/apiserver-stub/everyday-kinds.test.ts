import test from 'ava';
import type { KubeObject } from '../../../src/kube/types.ts';
import { base64Error, secretStrategy } from '../../../src/apiserver-stub/strategies/secret.ts';
import { cronError } from '../../../src/apiserver-stub/strategies/cronjob.ts';
import { clusterRoleBindingStrategy, roleStrategy } from '../../../src/apiserver-stub/strategies/rbac.ts';
import { networkPolicyStrategy } from '../../../src/apiserver-stub/strategies/network-policy.ts';
import { statefulSetStrategy } from '../../../src/apiserver-stub/strategies/statefulset.ts';
import { daemonSetStrategy } from '../../../src/apiserver-stub/strategies/daemonset.ts';
import { persistentVolumeClaimStrategy } from '../../../src/apiserver-stub/strategies/volume-claim.ts';
import { validateMeta } from '../../../src/apiserver-stub/meta.ts';

/** The strategies of issue 17's kinds: the conversions, defaults and checks kube applies, field by field. */
const fields = (causes: Array<{ field?: string }>): string[] => causes.map((c) => c.field ?? '');

test('base64Error accepts what Go StdEncoding accepts and names the first bad byte', (t) => {
  for (const ok of ['', 'YQ==', 'YWI=', 'YWJj', 'YW\nJj']) t.is(base64Error(ok), undefined, ok);
  t.is(base64Error('not base64!'), 'illegal base64 data at input byte 3');
  t.is(base64Error('YQ'), 'illegal base64 data at input byte 0');
  t.is(base64Error('YQ==YQ=='), 'illegal base64 data at input byte 4');
  t.is(base64Error('YWJ=x'), 'illegal base64 data at input byte 4');
  t.is(base64Error('YQ='), 'illegal base64 data at input byte 3');
  t.is(base64Error('Y==='), 'illegal base64 data at input byte 1');
  t.is(base64Error('YWJjY'), 'illegal base64 data at input byte 4');
});

test('Secret: stringData is merged into data (and wins), type defaults to Opaque, type is immutable', (t) => {
  const secret: KubeObject = { metadata: { name: 's' }, data: { a: 'eA==', b: 'eQ==' }, stringData: { b: 'zz', c: 'é' } };
  secretStrategy.defaults!(secret);
  t.deepEqual(secret.data, { a: 'eA==', b: 'eno=', c: Buffer.from('é').toString('base64') });
  t.false('stringData' in secret);
  t.is(secret.type, 'Opaque');
  t.deepEqual(secretStrategy.validate!(secret, undefined), []);
  t.deepEqual(fields(secretStrategy.validate!({ ...secret, type: 'kubernetes.io/tls' }, secret)), ['data[tls.crt]', 'data[tls.key]', 'type']);
  const sa: KubeObject = { metadata: { name: 't' }, type: 'kubernetes.io/service-account-token', data: {} };
  t.deepEqual(fields(secretStrategy.validate!(sa, undefined)), ['metadata.annotations[kubernetes.io/service-account.name]']);
  const frozen: KubeObject = { ...secret, immutable: true };
  t.deepEqual(fields(secretStrategy.validate!({ ...frozen, data: { a: 'eA==' } }, frozen)), ['data']);
});

test('cronError: five fields in range, names, steps and descriptors; TZ in the schedule refused', (t) => {
  for (const ok of ['0 3 * * *', '*/15 * * * *', '0 0 1 jan-mar mon-fri', '5,10 1-3 * * 0', '@hourly', '@every 5m']) t.is(cronError(ok), undefined, ok);
  t.regex(cronError('61 * * * *')!, /61/);
  t.regex(cronError('* * * *')!, /expected exactly 5 fields, found 4/);
  t.regex(cronError('@fortnightly')!, /unrecognized descriptor/);
  t.regex(cronError('*/0 * * * *')!, /bad step/);
  t.regex(cronError('TZ=UTC 0 * * * *')!, /timeZone field/);
});

test('RBAC: rules need verbs and api groups, namespaced roles refuse URLs; subjects get their apiGroup; roleRef is immutable', (t) => {
  const role: KubeObject = { metadata: { name: 'r' }, rules: [{ resources: ['pods'] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] };
  t.deepEqual(fields(roleStrategy.validate!(role, undefined)), ['rules[0].verbs', 'rules[0].apiGroups', 'rules[1].nonResourceURLs']);
  const binding: KubeObject = { metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'x' }] };
  clusterRoleBindingStrategy.defaults!(binding);
  t.like(binding.subjects, [{ apiGroup: 'rbac.authorization.k8s.io' }, { apiGroup: '' }]);
  t.deepEqual(fields(clusterRoleBindingStrategy.validate!(binding, undefined)), ['subjects[1].namespace']);
  const changed = { ...binding, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } };
  t.true(fields(clusterRoleBindingStrategy.validate!(changed, binding)).includes('roleRef'));
  t.deepEqual(validateMeta({ metadata: { name: 'system:node-proxier' } }, 'path'), []);
  t.deepEqual(fields(validateMeta({ metadata: { name: 'a/b' } }, 'path')), ['metadata.name']);
});

test('NetworkPolicy: policyTypes follow egress rules, port protocols default to TCP', (t) => {
  const np: KubeObject = { metadata: { name: 'n' }, spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } };
  networkPolicyStrategy.defaults!(np);
  t.like(np.spec, { policyTypes: ['Ingress', 'Egress'], egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }] });
  t.deepEqual(networkPolicyStrategy.validate!(np, undefined), []);
});

test('StatefulSet and PVC: only the fields kube lets change may change', (t) => {
  const sts: KubeObject = { metadata: { name: 's' }, spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
  statefulSetStrategy.defaults!(sts);
  t.deepEqual(statefulSetStrategy.validate!(sts, undefined), []);
  const scaled = structuredClone(sts);
  (scaled.spec as { replicas: number }).replicas = 5;
  t.deepEqual(statefulSetStrategy.validate!(scaled, sts), []);
  const renamed = structuredClone(sts);
  (renamed.spec as { serviceName: string }).serviceName = 'other';
  t.deepEqual(fields(statefulSetStrategy.validate!(renamed, sts)), ['spec']);
  const pvc: KubeObject = { metadata: { name: 'p' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  persistentVolumeClaimStrategy.defaults!(pvc);
  t.deepEqual(persistentVolumeClaimStrategy.validate!(pvc, undefined), []);
  const grown = structuredClone(pvc);
  (grown.spec as { resources: { requests: { storage: string } } }).resources.requests.storage = '2Gi';
  t.deepEqual(persistentVolumeClaimStrategy.validate!(grown, pvc), []);
  t.deepEqual(fields(persistentVolumeClaimStrategy.validate!({ ...pvc, spec: { ...(pvc.spec as object), resources: { requests: { storage: '0' } } } }, undefined)), ['spec.resources[storage]']);
});

test('an empty selector is refused in the kind\'s own words', (t) => {
  const ds: KubeObject = { metadata: { name: 'd' }, spec: { selector: {}, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
  daemonSetStrategy.defaults!(ds);
  t.regex(daemonSetStrategy.validate!(ds, undefined).map((c) => c.message).join('\n'), /empty selector is invalid for daemonset/);
});
