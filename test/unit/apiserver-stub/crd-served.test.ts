import test from 'ava';
import { CustomResources } from '../../../src/apiserver-stub/crd/served.ts';
import { Registry } from '../../../src/apiserver-stub/registry.ts';
import { resourceDefs } from '../../../src/apiserver-stub/resources.ts';
import type { Backend, StoredValue } from '../../../src/apiserver-stub/storage/backend.ts';
import { droppableStore } from '../../helpers/droppable-store.ts';
import { until } from '../../helpers/until.ts';

// CustomResources follows the stored CRDs through a StoreFeed: served from
// the list at start, then from the watch; a relist after the watch is
// dropped catches up with what changed meanwhile.

const crdDef = resourceDefs({}).find((d) => d.resource === 'customresourcedefinitions')!;

function crd(plural: string, versions: string[]): StoredValue {
  const kind = plural[0]!.toUpperCase() + plural.slice(1, -1);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.example.com` },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural, singular: plural.slice(0, -1), kind },
      versions: versions.map((name, i) => ({ name, served: true, storage: i === 0, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
    },
  };
}

/** A MemoryBackend whose lists are counted and whose CRD watch the test can drop, as a store drops a slow watcher. */
interface Lab { backend: Backend; lists: () => number; drop: () => void; custom: CustomResources; changes: () => number }

async function lab(t: { teardown(f: () => void): void }, seed: StoredValue[]): Promise<Lab> {
  const { memory, backend, drop, lists } = await droppableStore('customresourcedefinitions');
  for (const value of seed) await memory.create(`/registry/apiextensions.k8s.io/customresourcedefinitions/${(value.metadata as { name: string }).name}`, value);
  let changes = 0;
  const custom = new CustomResources(backend, new Registry(backend, crdDef), () => changes++);
  await custom.start();
  t.teardown(() => custom.close());
  return { backend: memory, lists, drop, custom, changes: () => changes };
}

test('CRDs listed at start are served, with one rebuild of discovery for the whole list', async (t) => {
  const { custom, changes, lists } = await lab(t, [crd('widgets', ['v1']), crd('gadgets', ['v1', 'v2'])]);
  t.truthy(custom.registry('example.com', 'v1', 'widgets'));
  t.truthy(custom.registry('example.com', 'v2', 'gadgets'));
  t.deepEqual(custom.defs().map((d) => `${d.resource}/${d.version}`).sort(), ['gadgets/v1', 'gadgets/v2', 'widgets/v1']);
  t.is(changes(), 1);
  t.is(lists(), 1);
});

test('a CRD written, updated and deleted after start is served, changed and unserved from the watch, its objects deleted with it', async (t) => {
  const { backend, custom, changes, lists } = await lab(t, []);
  const key = '/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com';
  const created = await backend.create(key, crd('widgets', ['v1']));
  await until('widgets served', async () => custom.registry('example.com', 'v1', 'widgets'), 2000, 5);
  await backend.update(key, crd('widgets', ['v1', 'v2']), created.revision);
  await until('widgets v2 served', async () => custom.registry('example.com', 'v2', 'widgets'), 2000, 5);
  await backend.create('/registry/example.com/widgets/default/w1', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' } });
  await backend.delete(key);
  await until('widgets unserved', async () => !custom.registry('example.com', 'v1', 'widgets'), 2000, 5);
  await until('its objects deleted', async () => (await backend.list('/registry/example.com/widgets/')).items.length === 0, 2000, 5);
  t.is(changes(), 4, 'the start, then one per event');
  t.is(lists(), 1, 'the watch, not a relist, brought each change');
});

test('after the watch is dropped, a relist serves CRDs created meanwhile and unserves (and empties) those deleted meanwhile', async (t) => {
  const { backend, custom, drop, lists } = await lab(t, [crd('widgets', ['v1'])]);
  await backend.create('/registry/example.com/widgets/default/w1', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' } });
  drop();
  await backend.delete('/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com');
  await backend.create('/registry/apiextensions.k8s.io/customresourcedefinitions/gadgets.example.com', crd('gadgets', ['v1']));
  t.truthy(custom.registry('example.com', 'v1', 'widgets'), 'not seen without a watch');
  await until('gadgets served after the relist', async () => custom.registry('example.com', 'v1', 'gadgets'), 3000, 10);
  t.is(lists(), 2);
  t.is(custom.registry('example.com', 'v1', 'widgets'), undefined);
  await until('widgets objects deleted', async () => (await backend.list('/registry/example.com/widgets/')).items.length === 0, 2000, 5);
});
