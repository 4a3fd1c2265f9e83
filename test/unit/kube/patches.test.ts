import test from 'ava';
import { applyJsonPatch } from '../../../src/kube/json-patch.ts';
import { applyMergePatch } from '../../../src/kube/merge-patch.ts';
import { applyStrategicMergePatch } from '../../../src/kube/strategic-merge-patch.ts';
import { PatchError, type Json } from '../../../src/kube/patch-errors.ts';

// RFC 7386 appendix A examples.
const mergeCases: Array<[Json, Json, Json]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];
mergeCases.forEach(([doc, patch, want], i) => {
  test(`merge patch RFC 7386 example ${i + 1}`, (t) => t.deepEqual(applyMergePatch(doc, patch), want));
});

test('json patch: add, remove, replace, move, copy, test; escapes and "-"', (t) => {
  const doc: Json = { a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2] };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/list/-', value: 3 },
    { op: 'add', path: '/list/0', value: 0 },
    { op: 'replace', path: '/a/b~1c', value: 10 },
    { op: 'remove', path: '/a/d~0e' },
    { op: 'copy', from: '/a', path: '/copy' },
    { op: 'move', from: '/list/3', path: '/last' },
    { op: 'test', path: '/last', value: 3 },
  ]);
  t.deepEqual(out, { a: { 'b/c': 10 }, list: [0, 1, 2], copy: { 'b/c': 10 }, last: 3 });
  t.deepEqual(doc, { a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2] }, 'input untouched');
});

test('json patch: failures are PatchErrors', (t) => {
  for (const ops of [{}, [{ op: 'remove', path: '/nope' }], [{ op: 'test', path: '/a', value: 2 }], [{ op: 'add', path: '/list/9', value: 1 }], [{ op: 'bogus', path: '/a' }], [{ op: 'add', path: 'a', value: 1 }], [{ op: 'add', path: '/a' }]]) {
    t.throws(() => applyJsonPatch({ a: 1, list: [] }, ops), { instanceOf: PatchError }, JSON.stringify(ops));
  }
});

const deployment: Json = {
  metadata: { name: 'web', finalizers: ['a'] },
  spec: {
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80 }, { containerPort: 443 }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'side', image: 'busybox' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'x' }],
      },
    },
  },
};

test('strategic merge: containers merge by name, ports by containerPort, env by name; untagged lists replace', (t) => {
  const out = applyStrategicMergePatch(deployment, {
    spec: { template: { spec: {
      containers: [{ name: 'web', image: 'nginx:2', ports: [{ containerPort: 8080 }], env: [{ name: 'B', value: '3' }] }],
      tolerations: [{ key: 'y' }],
    } } },
  }, 'Deployment') as any;
  const web = out.spec.template.spec.containers[0];
  t.is(web.image, 'nginx:2');
  t.deepEqual(web.ports, [{ containerPort: 80 }, { containerPort: 443 }, { containerPort: 8080 }]);
  t.deepEqual(web.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }]);
  t.is(out.spec.template.spec.containers[1].name, 'side');
  t.deepEqual(out.spec.template.spec.tolerations, [{ key: 'y' }]);
});

test('strategic merge: $patch delete, $setElementOrder, $deleteFromPrimitiveList, $retainKeys, $patch replace', (t) => {
  const out = applyStrategicMergePatch(deployment, {
    metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] },
    spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
      containers: [{ name: 'web', env: [{ name: 'A', $patch: 'delete' }] }],
      volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }],
    } } },
  }, 'Deployment') as any;
  t.deepEqual(out.metadata.finalizers, ['b']);
  const spec = out.spec.template.spec;
  t.deepEqual(spec.containers.map((c: { name: string }) => c.name), ['side', 'web']);
  t.deepEqual(spec.containers[1].env, [{ name: 'B', value: '2' }]);
  t.deepEqual(spec.volumes, [{ name: 'data', hostPath: { path: '/x' } }]);
  const replaced = applyStrategicMergePatch(deployment, { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } }, 'Deployment') as any;
  t.deepEqual(replaced.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
});

test('strategic merge: what kubectl apply sends for a Service (ports by port, label removed by null)', (t) => {
  const svc: Json = { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }] } };
  const out = applyStrategicMergePatch(svc, {
    metadata: { labels: { tier: null, env: 'prod' } },
    spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 8443 }], ports: [{ name: 'https', port: 8443 }, { port: 443, $patch: 'delete' }] },
  }, 'Service') as any;
  t.deepEqual(out.metadata.labels, { app: 'web', env: 'prod' });
  t.deepEqual(out.spec.ports, [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 8443 }]);
  t.is(out.spec.clusterIP, '10.96.0.5');
});

test('strategic merge: a list item without its merge key is an error', (t) => {
  t.throws(() => applyStrategicMergePatch({ spec: { ports: [] } }, { spec: { ports: [{ name: 'x' }] } }, 'Service'), { instanceOf: PatchError });
  t.throws(() => applyStrategicMergePatch({}, [] as Json, 'Service'), { instanceOf: PatchError });
});
