import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendKinds, createBackend } from '../../../../src/apiserver-stub/storage/registry.ts';
import { EtcdBackend } from '../../../../src/apiserver-stub/storage/etcd.ts';
import { FileBackend } from '../../../../src/apiserver-stub/storage/file.ts';
import { MemoryBackend } from '../../../../src/apiserver-stub/storage/memory.ts';
import { UnknownBackendError } from '../../../../src/apiserver-stub/storage/errors.ts';
import { InvalidArgumentError } from '../../../../src/util/errors.ts';

test('registry: knows memory, file and etcd', (t) => {
  t.deepEqual(backendKinds().sort(), ['etcd', 'file', 'memory']);
  t.true(createBackend('memory') instanceof MemoryBackend);
  t.true(createBackend('file', { dataDir: '/nonexistent/not-started' }) instanceof FileBackend);
  t.true(createBackend('etcd', { etcdServers: ['http://127.0.0.1:2379'] }) instanceof EtcdBackend);
});

const bad: Array<{ name: string; kind: string; options: Parameters<typeof createBackend>[1]; error: new (...args: never[]) => Error; message: RegExp }> = [
  { name: 'unknown kind', kind: 'sqlite', options: {}, error: UnknownBackendError, message: /unknown storage backend "sqlite" \(known: .*memory/ },
  { name: 'file without dataDir', kind: 'file', options: {}, error: InvalidArgumentError, message: /needs a dataDir/ },
  { name: 'file with snapshotEvery 0', kind: 'file', options: { dataDir: '/x', snapshotEvery: 0 }, error: InvalidArgumentError, message: /invalid snapshotEvery/ },
  { name: 'etcd without servers', kind: 'etcd', options: {}, error: InvalidArgumentError, message: /at least one endpoint/ },
  { name: 'etcd with a bad URL', kind: 'etcd', options: { etcdServers: ['127.0.0.1:2379'] }, error: InvalidArgumentError, message: /invalid etcd endpoint/ },
];

for (const tc of bad) {
  test(`registry: ${tc.name} is refused`, (t) => {
    t.throws(() => createBackend(tc.kind, tc.options), { instanceOf: tc.error, message: tc.message });
  });
}

test('registry: a created file backend starts and round-trips', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = createBackend('file', { dataDir: dir });
  await store.start();
  const kv = await store.create('/registry/namespaces/default', { metadata: { name: 'default' } });
  t.deepEqual(await store.get(kv.key), kv);
  await store.close();
});
