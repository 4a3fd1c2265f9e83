import test from 'ava';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { kubectlBin, startCluster, until } from './cluster-fixture.ts';

/**
 * Issue 16: the Deployment's Progressing and Available conditions and
 * progressDeadlineSeconds as kube-controller-manager sets them, read by
 * `kubectl rollout status`.
 */

const deployment = (name: string, deadline: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: 2
  progressDeadlineSeconds: ${deadline}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: c, image: "img:v1"}]
`;

const ns = { namespace: 'default' };

test(`${kubectlBin}: rollout status succeeds on NewReplicaSetAvailable and fails on ProgressDeadlineExceeded; pause and resume show`, async (t) => {
  const { client, k, run, kubelet } = await startCluster(t);
  kubelet.holds = (p) => p.metadata?.labels?.app === 'stuck';
  const cond = async (name: string, type: string) => (await client.get<Deployment>(resources.deployments, name, ns)).status?.conditions?.find((c) => c.type === type);

  await k(['apply', '-f', '-'], deployment('good', 600));
  t.regex(await k(['rollout', 'status', 'deployment/good', '--timeout=20s']), /deployment "good" successfully rolled out/);
  const progressing = await until('NewReplicaSetAvailable', async () => ((await cond('good', 'Progressing'))?.reason === 'NewReplicaSetAvailable' ? cond('good', 'Progressing') : undefined));
  t.like(progressing, { status: 'True' });
  t.regex(progressing!.message!, /^ReplicaSet "good-[a-z0-9]+" has successfully progressed\.$/);
  t.like(await cond('good', 'Available'), { status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });

  await k(['apply', '-f', '-'], deployment('stuck', 2));
  await until('stuck is progressing', async () => ['NewReplicaSetCreated', 'FoundNewReplicaSet', 'ReplicaSetUpdated'].includes((await cond('stuck', 'Progressing'))?.reason ?? ''));
  t.like(await cond('stuck', 'Available'), { status: 'False', reason: 'MinimumReplicasUnavailable' });
  const failed = await run(['rollout', 'status', 'deployment/stuck', '--timeout=30s']);
  t.not(failed.code, 0);
  t.regex(failed.stderr, /deployment "stuck" exceeded its progress deadline/);
  const timedOut = await cond('stuck', 'Progressing');
  t.like(timedOut, { status: 'False', reason: 'ProgressDeadlineExceeded' });
  t.regex(timedOut!.message!, /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
  t.regex(await k(['describe', 'deployment', 'stuck']), /Progressing\s+False\s+ProgressDeadlineExceeded/);

  await k(['rollout', 'pause', 'deployment/good']);
  await until('DeploymentPaused', async () => (await cond('good', 'Progressing'))?.reason === 'DeploymentPaused');
  t.like(await cond('good', 'Progressing'), { status: 'Unknown', message: 'Deployment is paused' });
  await k(['rollout', 'resume', 'deployment/good']);
  await until('resumed and complete again', async () => ['DeploymentResumed', 'NewReplicaSetAvailable'].includes((await cond('good', 'Progressing'))?.reason ?? ''));
  t.regex(await k(['rollout', 'status', 'deployment/good', '--timeout=20s']), /successfully rolled out/);
});
