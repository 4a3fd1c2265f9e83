import test from 'ava';
import { describePath, decodePath, fieldSetOf, fieldsV1Of, fromFieldsV1, removeAt, scopeOf, toFieldsV1, valueAt } from '../../../src/apiserver-stub/managed-fields/fieldset.ts';
import { resourceDefs } from '../../../src/apiserver-stub/resources.ts';
import type { Strategy } from '../../../src/apiserver-stub/resource.ts';

const defs = resourceDefs({} as Strategy);
const pod = defs.find((d) => d.kind === 'Pod')!;

const obj = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', resourceVersion: '5', labels: { app: 'web' }, finalizers: ['a/b'] },
  spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], args: ['-v'] }], nodeSelector: {} },
  status: { phase: 'Running' },
};

test('fieldSetOf: keyed lists by key, sets by value, atomic lists and empty maps as leaves; identity, bookkeeping and status left out', (t) => {
  const set = fieldSetOf(scopeOf(pod), obj);
  t.deepEqual([...set].map((p) => describePath(decodePath(p))).sort(), [
    '.metadata.finalizers[="a/b"]',
    '.metadata.labels.app',
    '.spec.containers[name="web"]',
    '.spec.containers[name="web"].args',
    '.spec.containers[name="web"].image',
    '.spec.containers[name="web"].name',
    '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]',
    '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].containerPort',
    '.spec.nodeSelector',
  ]);
  t.deepEqual([...fieldSetOf(scopeOf(pod, 'status'), obj)].map((p) => describePath(decodePath(p))), ['.status.phase']);
});

test('FieldsV1 round trip, with "." on owned nodes that have owned children', (t) => {
  const set = fieldSetOf(scopeOf(pod), obj);
  const tree = toFieldsV1(set) as any;
  t.deepEqual(tree['f:spec']['f:containers']['k:{"name":"web"}']['.'], {});
  t.deepEqual(tree['f:metadata']['f:labels'], { 'f:app': {} });
  t.deepEqual([...fromFieldsV1(tree)].sort(), [...set].sort());
});

test('valueAt and removeAt follow keys and set members; emptied maps go too', (t) => {
  const o = structuredClone(obj);
  const image = ['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'];
  t.is(valueAt(o, image), 'nginx');
  removeAt(o, ['f:metadata', 'f:labels', 'f:app']);
  t.false('labels' in o.metadata);
  removeAt(o, ['f:metadata', 'f:finalizers', 'v:"a/b"']);
  t.false('finalizers' in o.metadata);
  removeAt(o, ['f:spec', 'f:containers', 'k:{"name":"web"}']);
  t.false('containers' in o.spec);
});

test('fieldsV1Of (a create) builds the same tree as the set it owns', (t) => {
  const scope = scopeOf(pod);
  t.deepEqual([...fromFieldsV1(fieldsV1Of(scope, obj))].sort(), [...fieldSetOf(scope, obj)].sort());
  t.deepEqual(fieldsV1Of(scopeOf(pod, 'status'), obj), { 'f:status': { 'f:phase': {} } });
});
