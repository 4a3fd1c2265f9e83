import type { ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { kubectl, startServer, tempDir } from '../apiserver-stub/server-fixture.ts';
import { until } from '../../helpers/until.ts';

/** A compact apiserver, every controller, a stand-in kubelet and kubectl against them, torn down with the test. */

export const kubectlBin = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33', '/usr/bin/kubectl'].find((p) => existsSync(p))!;

export { until };

/** webDeployment is the two-replica Deployment the controller tests apply with kubectl. */
export const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "img:v1"}]
`;

/** playKubelet marks every live pod Running and Ready, so Deployments become available. */
async function playKubelet(client: ApiClient, holds: (p: Pod) => boolean): Promise<void> {
  for (const p of (await client.list<Pod>(resources.pods, { namespace: 'default' })).items) {
    if (p.status?.podIP || p.metadata?.deletionTimestamp || holds(p)) continue;
    await client.updateStatus(resources.pods, { ...p, status: { phase: 'Running', podIP: `10.244.1.${(Number(p.metadata!.resourceVersion) % 250) + 2}`, conditions: [{ type: 'Ready', status: 'True' }] } }).catch(() => undefined);
  }
}

export interface Cluster {
  url: string;
  client: ApiClient;
  manager: ControllerManager;
  /** k runs kubectl, asserting success, with `stdin` for `-f -`. */
  k: (args: string[], stdin?: string) => Promise<string>;
  /** run runs kubectl and returns its result whatever the exit code. */
  run: (args: string[], stdin?: string) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** kubelet.holds tells the stand-in kubelet which pods never to make ready. */
  kubelet: { holds: (p: Pod) => boolean };
}

export async function startCluster(t: ExecutionContext): Promise<Cluster> {
  const server = await startServer(t);
  const client = new ApiClient({ server: server.url }, { connections: 16 });
  const manager = new ControllerManager({ client, maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 2, deployment: 2, garbagecollector: 4 } });
  await manager.start();
  const kubelet: Cluster['kubelet'] = { holds: () => false };
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await playKubelet(client, kubelet.holds).catch(() => undefined);
      await sleep(100);
    }
  })();
  t.teardown(async () => {
    stop = true;
    await loop;
    await manager.stop();
    await client.close();
  });
  const dir = await tempDir(t);
  const run = (args: string[], stdin?: string) => kubectl(kubectlBin, server.url, join(dir, 'cache'), args, stdin);
  const k = async (args: string[], stdin?: string): Promise<string> => {
    const r = await run(args, stdin);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return { url: server.url, client, manager, k, run, kubelet };
}
