import test from 'ava';
import { checkFieldTypes } from '../../../src/apiserver-stub/field-types.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

/** Paths of wrongly typed fields are rendered only when reported; they must read as kube names fields. */
test('checkFieldTypes names fields, list items and map keys as kube does', (t) => {
  const deploy = {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 7 } },
    spec: { replicas: 'two', template: { spec: { containers: [{ name: 'a' }, { name: 'b', ports: [{ containerPort: '80' }] }] } } },
  } as unknown as KubeObject;
  const fields = checkFieldTypes(deploy, 'Deployment').map((c) => `${c.field}: ${c.message}`).sort();
  t.deepEqual(fields, [
    'metadata.labels[app]: Invalid value: 7: must be of type string',
    'spec.replicas: Invalid value: "two": must be of type integer',
    'spec.template.spec.containers[1].ports[0].containerPort: Invalid value: "80": must be of type integer',
  ]);
  t.deepEqual(checkFieldTypes({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok' }, data: { a: 'b' } } as KubeObject, 'ConfigMap'), []);
});
