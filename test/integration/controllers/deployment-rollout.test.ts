import test from 'ava';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, startCluster, until } from './cluster-fixture.ts';

/**
 * Issue 16 part 5: Deployment revisions as kube-controller-manager keeps them,
 * driven by kubectl: revision annotations on the Deployment and its
 * ReplicaSets, change-cause copied for `rollout history`, `rollout undo`
 * scaling the old ReplicaSet back (its template is normalised before the
 * comparison) under the next revision, and revisionHistoryLimit.
 */
const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  annotations: {kubernetes.io/change-cause: "first: v1"}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "img:v1"}]
`;

test(`${kubectlBin}: rollout history shows change-causes, rollout undo scales the old ReplicaSet back, revisionHistoryLimit prunes`, async (t) => {
  const { client, k } = await startCluster(t);
  const sets = async () => (await client.list<ReplicaSet>(resources.replicasets, { namespace: 'default' })).items;
  const deploymentNow = () => client.get<Deployment>(resources.deployments, 'web', { namespace: 'default' });
  const settled = (n: number, image: string) =>
    until(`rollout to ${image} with ${n} sets`, async () => {
      const rs = await sets();
      const live = rs.filter((r) => (r.spec?.replicas ?? 0) > 0);
      const d = await deploymentNow();
      return rs.length === n && live.length === 1 && live[0]!.spec?.template?.spec?.containers[0]?.image === image && live[0]!.status?.availableReplicas === 2 && d.status?.updatedReplicas === 2 && d.status.replicas === 2 ? rs : undefined;
    });

  await k(['apply', '-f', '-'], manifest);
  const [first] = await settled(1, 'img:v1');
  t.is(first!.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.is(first!.metadata?.annotations?.['kubernetes.io/change-cause'], 'first: v1');
  t.is(first!.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '2');
  t.is(first!.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  t.is((await until('deployment revision 1', async () => ((await deploymentNow()).metadata?.annotations?.['deployment.kubernetes.io/revision'] === '1' ? true : undefined))), true);

  // Annotated after the change, as kube's docs say: the cause goes to whichever set is new at the time.
  await k(['set', 'image', 'deployment/web', 'web=img:v2']);
  await k(['annotate', 'deployment/web', 'kubernetes.io/change-cause=second: v2', '--overwrite']);
  await settled(2, 'img:v2');
  const history = await until('change-cause of revision 2', async () => {
    const out = await k(['rollout', 'history', 'deployment/web']);
    return /^2\s+second: v2$/m.test(out) ? out : undefined;
  });
  t.regex(history, /^1\s+first: v1$/m);

  await k(['rollout', 'undo', 'deployment/web']);
  const after = await settled(2, 'img:v1');
  const back = after.find((r) => r.metadata?.name === first!.metadata?.name);
  t.truthy(back, `the first ReplicaSet is the live one again, not a new one: ${after.map((r) => r.metadata?.name).join(', ')}`);
  t.is(back!.spec?.replicas, 2);
  await until('revision 3 on the first set and the deployment', async () => {
    const rs = (await sets()).find((r) => r.metadata?.name === first!.metadata?.name);
    const d = await deploymentNow();
    return rs?.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3' && d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3';
  });
  t.is((await sets()).find((r) => r.metadata?.name === first!.metadata?.name)!.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  t.regex(await k(['rollout', 'history', 'deployment/web']), /^3\s+first: v1$/m);

  await k(['patch', 'deployment/web', '-p', '{"spec":{"revisionHistoryLimit":0}}']);
  const pruned = await until('the idle set pruned', async () => {
    const rs = await sets();
    return rs.length === 1 ? rs : undefined;
  });
  t.is(pruned[0]!.metadata?.name, first!.metadata?.name);
});
