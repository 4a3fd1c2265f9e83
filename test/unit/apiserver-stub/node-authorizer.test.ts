import test from 'ava';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { MemoryBackend } from '../../../src/apiserver-stub/storage/memory.ts';
import { NodeAuthorizer, nodeNameOf } from '../../../src/apiserver-stub/rbac/node-authorizer.ts';
import type { Attributes } from '../../../src/apiserver-stub/rbac/attributes.ts';
import type { UserInfo } from '../../../src/apiserver-stub/handlers/reviews.ts';
import { Authority } from '../../../src/apiserver-stub/rbac/authority.ts';
import type { Backend, StoreWatch, WatchHandlers } from '../../../src/apiserver-stub/storage/backend.ts';

// kube's Node authorizer and NodeRestriction, table-driven: node a runs pod
// web (Secret tls, ConfigMap conf, a projected kube-root-ca.crt, account
// web-sa, claim data); node b runs pod other (Secret other-tls).

const nodeA: UserInfo = { username: 'system:node:a', groups: ['system:nodes', 'system:authenticated'] };

function pod(name: string, node: string, spec: Partial<NonNullable<Pod['spec']>>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }], ...spec } };
}

async function authorizer(): Promise<NodeAuthorizer> {
  const backend = new MemoryBackend();
  await backend.start();
  await backend.create('/registry/pods/default/web', pod('web', 'a', {
    serviceAccountName: 'web-sa',
    volumes: [
      { name: 'tls', secret: { secretName: 'tls' } },
      { name: 'conf', configMap: { name: 'conf' } },
      { name: 'api', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt' } }] } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
    ],
  }) as Record<string, unknown>);
  await backend.create('/registry/pods/default/other', pod('other', 'b', { volumes: [{ name: 'tls', secret: { secretName: 'other-tls' } }] }) as Record<string, unknown>);
  const z = new NodeAuthorizer(backend);
  await z.start();
  return z;
}

const res = (verb: string, resource: string, name = '', o: { group?: string; subresource?: string; namespace?: string } = {}): Attributes =>
  ({ kind: 'resource', verb, group: o.group ?? '', resource, subresource: o.subresource ?? '', namespace: o.namespace ?? 'default', name });

const cases: Array<[string, Attributes, 'allow' | 'deny' | 'no-opinion']> = [
  ['its pod\'s Secret', res('get', 'secrets', 'tls'), 'allow'],
  ['its pod\'s Secret watched by name', res('watch', 'secrets', 'tls'), 'allow'],
  ['another node\'s pod\'s Secret', res('get', 'secrets', 'other-tls'), 'no-opinion'],
  ['a list of every Secret', res('list', 'secrets'), 'no-opinion'],
  ['its pod\'s ConfigMap', res('get', 'configmaps', 'conf'), 'allow'],
  ['a ConfigMap from a projected volume', res('get', 'configmaps', 'kube-root-ca.crt'), 'allow'],
  ['an unrelated ConfigMap', res('get', 'configmaps', 'kube-proxy', { namespace: 'kube-system' }), 'no-opinion'],
  ['its pod\'s claim', res('get', 'persistentvolumeclaims', 'data'), 'allow'],
  ['a PersistentVolume', res('get', 'persistentvolumes', 'pv-1', { namespace: '' }), 'no-opinion'],
  ['a token for its pod\'s account', res('create', 'serviceaccounts', 'web-sa', { subresource: 'token' }), 'allow'],
  ['a token for another account', res('create', 'serviceaccounts', 'default', { subresource: 'token' }), 'no-opinion'],
  ['its pod\'s status', res('patch', 'pods', 'web', { subresource: 'status' }), 'allow'],
  ['another node\'s pod\'s status', res('patch', 'pods', 'other', { subresource: 'status' }), 'deny'],
  ['deleting its pod', res('delete', 'pods', 'web'), 'allow'],
  ['deleting another node\'s pod', res('delete', 'pods', 'other'), 'deny'],
  ['a pod that is gone (the handler answers 404)', res('delete', 'pods', 'gone'), 'allow'],
  ['creating a pod', res('create', 'pods'), 'no-opinion'],
  ['watching pods', res('watch', 'pods'), 'allow'],
  ['its own Node', res('patch', 'nodes', 'a', { namespace: '' }), 'allow'],
  ['its own Node\'s status', res('update', 'nodes', 'a', { subresource: 'status', namespace: '' }), 'allow'],
  ['another Node', res('patch', 'nodes', 'b', { namespace: '' }), 'deny'],
  ['listing Nodes', res('list', 'nodes', '', { namespace: '' }), 'allow'],
  ['its Lease', res('update', 'leases', 'a', { group: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'allow'],
  ['another node\'s Lease', res('update', 'leases', 'b', { group: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'no-opinion'],
  ['events', res('create', 'events'), 'allow'],
  ['services', res('watch', 'services', '', { namespace: '' }), 'allow'],
  ['deployments', res('list', 'deployments', '', { group: 'apps' }), 'no-opinion'],
];

for (const [what, a, want] of cases) {
  test(`node a: ${what} → ${want}`, async (t) => {
    const d = await (await authorizer()).authorize(nodeA, a);
    t.is(d.decision, want, d.reason);
  });
}

test('the reasons are kube\'s', async (t) => {
  const z = await authorizer();
  t.is((await z.authorize(nodeA, res('get', 'secrets', 'other-tls'))).reason, "no relationship found between node 'a' and this object");
  t.is((await z.authorize(nodeA, res('patch', 'nodes', 'b', { namespace: '' }))).reason, 'node "a" is not allowed to modify node "b"');
  t.is((await z.authorize(nodeA, res('patch', 'pods', 'other', { subresource: 'status' }))).reason, 'node "a" can only update pods with spec.nodeName set to itself');
});

test('only system:node:<name> in system:nodes is a node; everyone else gets no opinion', async (t) => {
  t.is(nodeNameOf(nodeA), 'a');
  t.is(nodeNameOf({ username: 'system:node:a', groups: ['system:authenticated'] }), undefined);
  t.is(nodeNameOf({ username: 'alice', groups: ['system:nodes'] }), undefined);
  const d = await (await authorizer()).authorize({ username: 'alice', groups: ['system:authenticated'] }, res('get', 'secrets', 'tls'));
  t.is(d.decision, 'no-opinion');
});

test('the graph follows pods bound, moved and deleted after it started', async (t) => {
  const backend = new MemoryBackend();
  await backend.start();
  const z = new NodeAuthorizer(backend);
  await z.start();
  t.teardown(() => z.close());
  const get = res('get', 'secrets', 'late');
  t.is((await z.authorize(nodeA, get)).decision, 'no-opinion');
  const created = await backend.create('/registry/pods/default/late', pod('late', 'a', { volumes: [{ name: 's', secret: { secretName: 'late' } }] }) as Record<string, unknown>);
  t.is((await z.authorize(nodeA, get)).decision, 'allow');
  await backend.update('/registry/pods/default/late', pod('late', 'b', { volumes: [{ name: 's', secret: { secretName: 'late' } }] }) as Record<string, unknown>, created.revision);
  t.is((await z.authorize(nodeA, get)).decision, 'no-opinion', 'bound elsewhere now');
  await backend.delete('/registry/pods/default/late');
  t.is((await z.authorize({ username: 'system:node:b', groups: ['system:nodes'] }, get)).decision, 'no-opinion', 'gone');
});

/** A MemoryBackend that counts reads of pods (lists and gets) and can hold its watch events back, as etcd's watch lags its writes. */
function countingPods(memory: MemoryBackend, lagMs = 0): { backend: Backend; reads: () => number } {
  let reads = 0;
  const backend: Backend = Object.assign(Object.create(memory) as Backend, {
    list: (...args: Parameters<Backend['list']>) => {
      if (args[0].startsWith('/registry/pods/')) reads++;
      return memory.list(...args);
    },
    get: (key: string) => {
      if (key.startsWith('/registry/pods/')) reads++;
      return memory.get(key);
    },
    watch: async (prefix: string, from: number, handlers: WatchHandlers): Promise<StoreWatch> => {
      if (lagMs === 0) return memory.watch(prefix, from, handlers);
      // Like etcd's: progress is the last event delivered, nothing about writes elsewhere.
      let delivered = from;
      const inner = await memory.watch(prefix, from, {
        onEvent: (event) => void setTimeout(() => { delivered = event.revision; handlers.onEvent(event); }, lagMs),
        onClose: (reason) => handlers.onClose(reason),
      });
      return { close: () => inner.close(), resume: () => inner.resume(), progressRevision: () => delivered };
    },
  });
  return { backend, reads: () => reads };
}

test('a node reads the Secrets and ConfigMaps its pods use and no others, from the graph, with no read of the pods per request', async (t) => {
  const memory = new MemoryBackend();
  await memory.start();
  await memory.create('/registry/pods/default/web', pod('web', 'a', { volumes: [{ name: 'tls', secret: { secretName: 'tls' } }, { name: 'conf', configMap: { name: 'conf' } }] }) as Record<string, unknown>);
  await memory.create('/registry/pods/default/other', pod('other', 'b', { volumes: [{ name: 'tls', secret: { secretName: 'other-tls' } }] }) as Record<string, unknown>);
  const { backend, reads } = countingPods(memory);
  const authority = new Authority(backend, undefined, ['Node']);
  await authority.start(undefined as never);
  t.teardown(() => authority.close());
  t.is(reads(), 1, 'the graph\'s list');
  for (let i = 0; i < 20; i++) {
    // Writes elsewhere move the store's revision on; the graph is still caught up with the pods.
    await memory.create(`/registry/configmaps/default/noise-${i}`, { metadata: { name: `noise-${i}` } });
    t.true((await authority.decide(nodeA, res('get', 'secrets', 'tls'))).allowed);
    t.true((await authority.decide(nodeA, res('get', 'configmaps', 'conf'))).allowed);
    const unused = await authority.decide(nodeA, res('get', 'secrets', 'other-tls'));
    t.false(unused.allowed);
    t.is(unused.reason, "no relationship found between node 'a' and this object");
    t.false((await authority.decide(nodeA, res('get', 'configmaps', 'unused'))).allowed);
  }
  t.is(reads(), 1, 'no list or get of pods per request');
});

test('behind a lagging watch, a miss waits for the pod bound a moment ago instead of reading the pods', async (t) => {
  const memory = new MemoryBackend();
  await memory.start();
  const { backend, reads } = countingPods(memory, 50);
  const z = new NodeAuthorizer(backend);
  await z.start();
  t.teardown(() => z.close());
  await memory.create('/registry/pods/default/late', pod('late', 'a', { volumes: [{ name: 's', secret: { secretName: 'late' } }] }) as Record<string, unknown>);
  const started = Date.now();
  t.is((await z.authorize(nodeA, res('get', 'secrets', 'late'))).decision, 'allow');
  t.true(Date.now() - started >= 40, 'answered once the pod reached the graph');
  const missed = Date.now();
  t.is((await z.authorize(nodeA, res('get', 'secrets', 'unused'))).decision, 'no-opinion');
  t.true(Date.now() - missed < 500, 'caught up: a miss is a miss at once');
  t.is(reads(), 1, 'only the graph\'s list');
});
