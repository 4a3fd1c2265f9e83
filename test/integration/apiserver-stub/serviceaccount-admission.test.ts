import test from 'ava';
import { join } from 'node:path';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { kubectl, startServer, tempDir } from './server-fixture.ts';
import { kubectlBin } from '../controllers/cluster-fixture.ts';
import { until } from '../../helpers/until.ts';

/**
 * kube's ServiceAccount admission plugin, on as in kube-apiserver, with the
 * serviceaccount controller making each namespace's `default` and the
 * ReplicaSet controller creating pods: a pod naming a missing account is a
 * 403 for kubectl, and for the controller a FailedCreate event and retries
 * until the account exists; a pod created at once in a new namespace waits
 * for its `default` instead of failing.
 */
test('ServiceAccount admission: kubectl gets kube\'s 403 for a missing account; a ReplicaSet records FailedCreate and recovers once it exists', async (t) => {
  const server = await startServer(t, 'memory', {}, { disableAdmissionPlugins: [] });
  const client = new ApiClient({ server: server.url });
  const manager = new ControllerManager({ client, controllers: ['serviceaccount', 'replicaset'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const cache = join(await tempDir(t), 'cache');
  const k = (args: string[], input?: string) => kubectl(kubectlBin, server.url, cache, args, input);

  // A new namespace and at once a pod in it: admission waits for the controller's `default`.
  t.is((await k(['create', 'namespace', 'team'])).code, 0);
  const first = await k(['run', 'first', '-n', 'team', '--image=img', '-o', 'jsonpath={.spec.serviceAccountName}']);
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout, 'default');

  const missing = await k(['run', 'web', '-n', 'team', '--image=img', '--overrides', JSON.stringify({ spec: { serviceAccountName: 'robot' } })]);
  t.not(missing.code, 0);
  t.is(missing.stderr.trim(), 'Error from server (Forbidden): pods "web" is forbidden: error looking up service account team/robot: serviceaccount "robot" not found');
  const applied = await k(['apply', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: team}\nspec: {serviceAccountName: robot, containers: [{name: c, image: img}]}\n');
  t.regex(applied.stderr, /pods "api" is forbidden: error looking up service account team\/robot: serviceaccount "robot" not found/);
  const serverSide = await k(['apply', '--server-side', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: ssa, namespace: team}\nspec: {serviceAccountName: robot, containers: [{name: c, image: img}]}\n');
  t.regex(serverSide.stderr, /pods "ssa" is forbidden: error looking up service account team\/robot: serviceaccount "robot" not found/);
  t.is((await k(['get', 'pod', 'web', 'api', 'ssa', '-n', 'team', '--ignore-not-found', '-o', 'name'])).stdout, '', 'nothing was stored');

  const rs = 'apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: bot, namespace: team}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: bot}}\n  template:\n    metadata: {labels: {app: bot}}\n    spec: {serviceAccountName: robot, containers: [{name: c, image: img}]}\n';
  t.is((await k(['apply', '-f', '-'], rs)).code, 0);
  const failed = await until('a FailedCreate event', async () => {
    const events = await client.list<Event>(resources.events, { namespace: 'team' });
    return events.items.find((e) => e.reason === 'FailedCreate' && e.involvedObject.name === 'bot');
  });
  t.is(failed.type, 'Warning');
  t.regex(failed.message ?? '', /^Error creating: pods "bot-[a-z0-9]*" is forbidden: error looking up service account team\/robot: serviceaccount "robot" not found$/);

  t.is((await k(['create', 'serviceaccount', 'robot', '-n', 'team'])).code, 0);
  const pods = await until('the ReplicaSet to create its pods', async () => {
    const list = await client.list<Pod>(resources.pods, { namespace: 'team', labelSelector: 'app=bot' });
    return list.items.length === 2 && list.items;
  }, 30_000);
  for (const p of pods) t.is(p.spec?.serviceAccountName, 'robot');
});
