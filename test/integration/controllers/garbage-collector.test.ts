import test from 'ava';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { isNotFound } from '../../../src/client/errors.ts';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, startCluster, until, webDeployment } from './cluster-fixture.ts';

/**
 * Issue 16: the garbage collector of the controller manager, driven by
 * kubectl's --cascade: orphan (dependents lose the reference and are adopted
 * by a re-created owner), foreground (dependents go first) and background
 * (dependents collected after the owner is gone).
 */

const manifest = webDeployment;

const ns = { namespace: 'default' };

test(`${kubectlBin}: delete --cascade=orphan then re-create adopts the old ReplicaSet (2/2); foreground and background delete dependents`, async (t) => {
  const { client, k } = await startCluster(t);
  const sets = async () => (await client.list<ReplicaSet>(resources.replicasets, ns)).items;
  const pods = async () => (await client.list<Pod>(resources.pods, ns)).items;
  const ready = () =>
    until('web 2/2', async () => {
      const d = await client.get<Deployment>(resources.deployments, 'web', ns).catch(() => undefined);
      return d?.status?.availableReplicas === 2 && d.status.updatedReplicas === 2 && d.status.replicas === 2 ? d : undefined;
    });

  await k(['apply', '-f', '-'], manifest);
  const first = await ready();
  const [rs] = await sets();
  const podNames = (await pods()).map((p) => p.metadata?.name).sort();
  t.is(podNames.length, 2);

  await k(['delete', 'deployment', 'web', '--cascade=orphan']);
  t.true(await client.get(resources.deployments, 'web', ns).then(() => false, isNotFound), 'the Deployment is gone once its dependents are orphaned');
  const orphaned = await until('the ReplicaSet without its owner reference', async () => {
    const all = await sets();
    return all.length === 1 && (all[0]!.metadata?.ownerReferences ?? []).length === 0 ? all[0] : undefined;
  });
  t.is(orphaned.metadata?.name, rs!.metadata?.name);
  t.deepEqual((await pods()).map((p) => p.metadata?.name).sort(), podNames, 'the pods stay with their ReplicaSet');

  await k(['apply', '-f', '-'], manifest);
  const again = await ready();
  t.not(again.metadata?.uid, first.metadata?.uid);
  const adopted = await sets();
  t.deepEqual(adopted.map((r) => r.metadata?.name), [rs!.metadata?.name], 'no new ReplicaSet: the old one is adopted');
  t.is(adopted[0]!.metadata?.ownerReferences?.[0]?.uid, again.metadata?.uid);
  t.true(adopted[0]!.metadata?.ownerReferences?.[0]?.controller);
  t.deepEqual((await pods()).map((p) => p.metadata?.name).sort(), podNames, 'the same pods serve the re-created Deployment');
  t.regex(await k(['get', 'deployment', 'web']), /web\s+2\/2\s+2\s+2/);

  // ReplicaSets adopt orphaned pods: orphan the pods of the set, then create the set again.
  await k(['delete', 'replicaset', rs!.metadata!.name!, '--cascade=orphan']);
  await until('the Deployment makes a new set for its pods', async () => (await sets()).length === 1 && (await sets())[0]!.metadata?.uid !== rs!.metadata?.uid);
  const reclaimed = await until('the new set adopts the two orphaned pods', async () => {
    const ps = await pods();
    const owner = (await sets())[0]!.metadata?.uid;
    return ps.length === 2 && ps.every((p) => p.metadata?.ownerReferences?.[0]?.uid === owner) ? ps : undefined;
  });
  t.deepEqual(reclaimed.map((p) => p.metadata?.name).sort(), podNames, 'no pod was created: the orphans were adopted');

  await k(['delete', 'deployment', 'web', '--cascade=foreground']);
  t.deepEqual(await sets(), [], 'foreground: the ReplicaSet went before the Deployment');
  t.deepEqual(await pods(), [], 'foreground: the pods went before the Deployment');

  await k(['apply', '-f', '-'], manifest);
  await ready();
  await k(['delete', 'deployment', 'web']);
  await until('background: ReplicaSet and pods collected', async () => (await sets()).length === 0 && (await pods()).length === 0);
  t.pass();
});

test('background collection of any kind; a dependent with a living owner only loses the dangling reference', async (t) => {
  const { client, k } = await startCluster(t);
  const make = (name: string, owners: Service[] = []) =>
    client.create<Service>(resources.services, { metadata: { name, namespace: 'default', ownerReferences: owners.map((o) => ({ apiVersion: 'v1', kind: 'Service', name: o.metadata!.name!, uid: o.metadata!.uid! })) }, spec: { ports: [{ port: 80 }] } });
  const a = await make('a');
  const b = await make('b');
  await make('only-a', [a]);
  await make('a-and-b', [a, b]);
  await k(['delete', 'service', 'a']);
  await until('only-a collected', async () => client.get(resources.services, 'only-a', ns).then(() => false, isNotFound));
  const kept = await until('a-and-b keeps only b', async () => {
    const cm = await client.get<Service>(resources.services, 'a-and-b', ns);
    return cm.metadata?.ownerReferences?.length === 1 ? cm : undefined;
  });
  t.is(kept.metadata?.ownerReferences?.[0]?.name, 'b');
  // A dependent created before its owner is cached is not collected: the owner is confirmed live.
  const c = await make('c');
  await make('c-child', [c]);
  await new Promise((r) => setTimeout(r, 500));
  t.is((await client.get<Service>(resources.services, 'c-child', ns)).metadata?.name, 'c-child');
});
