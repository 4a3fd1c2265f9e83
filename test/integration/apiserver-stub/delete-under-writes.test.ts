import test from 'ava';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { startServer, tempDir } from './server-fixture.ts';

/**
 * A DELETE without preconditions is not refused because the object changed
 * meanwhile: kube's apiserver re-reads and retries until the delete lands.
 * Here a controller-like writer updates the object's status without pause
 * while it is deleted (`kubectl delete statefulset` right as its pods became
 * Ready got 409 Conflict in a lab).
 */
for (const storage of ['memory', 'file'] as const) {
  test(`${storage}: DELETE succeeds while the object's status is written continuously`, async (t) => {
    const dataDir = await tempDir(t);
    const server = await startServer(t, storage, storage === 'file' ? { dataDir } : {});
    const client = new ApiClient({ server: server.url }, { connections: 32 });
    t.teardown(() => client.close());
    const failures: string[] = [];
    for (let round = 0; round < 10; round++) {
      const name = `d${round}`;
      await client.create(resources.deployments, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } });
      let stop = false;
      const writers = Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const cur = await client.get<Deployment>(resources.deployments, name, { namespace: 'default' }).catch(() => undefined);
          if (!cur) return;
          await client.updateStatus(resources.deployments, { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined }, status: { observedGeneration: w * 1000 + i } } as Deployment).catch(() => undefined);
          // A controller writes status when something changed, not in a spin: with none of this pause a file
          // store whose fdatasync is slow (a loaded CI machine) always has one of the 16 writes in flight.
          await new Promise((r) => setTimeout(r, 5));
        }
      });
      await new Promise((r) => setTimeout(r, 50));
      await client.delete(resources.deployments, name, { namespace: 'default' }).catch((e: Error) => failures.push(e.message));
      stop = true;
      await Promise.all(writers);
    }
    t.deepEqual(failures, []);
  });
}
