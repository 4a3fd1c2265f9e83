import test from 'ava';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { blocksOwner, deletingWith, ownerStateOf, planItem, withoutOwner, type OwnerState } from '../../../src/apiserver-stub/controllers/garbage-collector-plan.ts';
import { adoptable, adoptionPatch, controllerOwnerRef, selectorSelects } from '../../../src/apiserver-stub/controllers/adoption.ts';

const ref = (uid: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: uid, uid, ...extra });
const obj = (metadata: ObjectMeta) => ({ metadata: { namespace: 'ns', ...metadata } });
const states = (s: Record<string, OwnerState>) => new Map(Object.entries(s));

test('planItem: kept with a solid owner, dangling references dropped, collected when no owner is left', (t) => {
  t.deepEqual(planItem(obj({ name: 'x' }), states({}), false), { kind: 'keep' });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a')] }), states({ a: 'present' }), false), { kind: 'keep' });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a'), ref('b')] }), states({ a: 'present', b: 'absent' }), false), { kind: 'dropRefs', ownerReferences: [ref('a')] });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a')] }), states({ a: 'absent' }), true), { kind: 'delete', policy: 'Background' });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a')], finalizers: ['orphan'] }), states({ a: 'absent' }), true), { kind: 'delete', policy: 'Orphan' });
});

test('planItem: a dependent of a foreground owner goes in the foreground when it has dependents itself', (t) => {
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a')] }), states({ a: 'deletingForeground' }), true), { kind: 'delete', policy: 'Foreground' });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a')] }), states({ a: 'deletingForeground' }), false), { kind: 'delete', policy: 'Background' });
  t.deepEqual(planItem(obj({ ownerReferences: [ref('a'), ref('b')] }), states({ a: 'deletingForeground', b: 'present' }), true), { kind: 'keep' });
});

test('owner states, blocking and finalizers', (t) => {
  const deleting = obj({ uid: 'a', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
  t.is(ownerStateOf(deleting, 'a'), 'deletingForeground');
  t.is(ownerStateOf(deleting, 'other-uid'), 'absent', 'an owner re-created under the same name is not the referenced one');
  t.is(ownerStateOf(undefined, 'a'), 'absent');
  t.is(ownerStateOf(obj({ uid: 'a' }), 'a'), 'present');
  t.is(deletingWith(obj({ deletionTimestamp: 'x', finalizers: ['foregroundDeletion', 'orphan'] })), 'orphan');
  t.is(deletingWith(obj({ finalizers: ['orphan'] })), undefined, 'a finalizer without a deletion is not acted on');
  t.true(blocksOwner(obj({ ownerReferences: [ref('a', { blockOwnerDeletion: true })] }), 'a'));
  t.false(blocksOwner(obj({ ownerReferences: [ref('a')] }), 'a'));
  t.is(withoutOwner(obj({ ownerReferences: [ref('a')] }), 'a'), null);
  t.deepEqual(withoutOwner(obj({ ownerReferences: [ref('a'), ref('b')] }), 'a'), [ref('b')]);
});

test('adoption: same namespace, no controller, not deleting, selected by a non-empty selector', (t) => {
  const owner = { metadata: { name: 'web', namespace: 'ns', uid: 'u1' }, spec: { selector: { matchLabels: { app: 'web' } } } };
  const candidates = [
    obj({ name: 'orphan', labels: { app: 'web' }, resourceVersion: '7' }),
    obj({ name: 'other-app', labels: { app: 'db' } }),
    obj({ name: 'owned', labels: { app: 'web' }, ownerReferences: [ref('x', { controller: true })] }),
    obj({ name: 'dying', labels: { app: 'web' }, deletionTimestamp: 'x' }),
    { metadata: { name: 'elsewhere', namespace: 'other', labels: { app: 'web' } } },
  ];
  t.deepEqual(adoptable(owner, candidates).map((c) => c.metadata.name), ['orphan']);
  t.deepEqual(adoptable({ ...owner, metadata: { ...owner.metadata, deletionTimestamp: 'x' } }, candidates), [], 'an owner being deleted adopts nothing');
  t.false(selectorSelects({}, { app: 'web' }), 'an empty selector selects nothing');
  t.true(selectorSelects({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, { app: 'web' }));
  const patch = adoptionPatch(candidates[0]!, controllerOwnerRef('apps/v1', 'Deployment', owner));
  t.deepEqual(patch, { metadata: { resourceVersion: '7', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true }] } });
});
