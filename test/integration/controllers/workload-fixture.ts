import type { ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import type { WorkloadOptions } from '../../../src/apiserver-stub/controllers/workload-controllers.ts';
import { kubectl, startServer, tempDir } from '../apiserver-stub/server-fixture.ts';
import { until } from '../../helpers/until.ts';

/**
 * Shared set-up of the workload controller tests: an in-process apiserver,
 * a controller-manager running the chosen controllers, kubectl against them,
 * and a stand-in kubelet that moves pods through their phases as told.
 */

export const kubectlBin = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33', '/usr/bin/kubectl'].find((p) => existsSync(p))!;
/** The oldest kubectl the project supports, when installed. */
export const kubectlOld = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.27'].find((p) => existsSync(p));

export { until };

/** What the stand-in kubelet does with a pod: run it (ready or not), or end it. */
export type PodFate = 'run' | 'run-unready' | 'succeed' | 'fail' | 'leave';

export interface Workbench {
  client: ApiClient;
  manager: ControllerManager;
  /** kubectl with the test's server; fails the test on a non-zero exit unless `allowFail`. */
  k(args: string[], o?: { input?: string; allowFail?: boolean }): Promise<string>;
  pods(labelSelector?: string): Promise<Pod[]>;
}

export interface WorkbenchOptions {
  controllers: string[];
  workloads?: WorkloadOptions;
  /** kubectl binary (default kubectlBin). */
  kubectl?: string;
  /** The stand-in kubelet's decision per pod; none runs when absent. */
  fate?: (pod: Pod) => PodFate;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** step moves a pod one phase on: Pending → Running → (Succeeded | Failed). */
async function step(client: ApiClient, p: Pod, fate: PodFate): Promise<void> {
  if (fate === 'leave') return;
  // A pod being deleted on a node waits for its kubelet: end it at once.
  if (p.metadata?.deletionTimestamp) {
    if (p.spec?.nodeName) await client.delete(resources.pods, p.metadata.name!, { namespace: p.metadata.namespace! }, { gracePeriodSeconds: 0 });
    return;
  }
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return;
  const name = p.spec?.containers[0]?.name ?? 'c';
  const ready = fate !== 'run-unready' && fate !== 'fail';
  const ip = `10.244.1.${(Number(p.metadata!.resourceVersion) % 250) + 2}`;
  if (phase !== 'Running') {
    await client.updateStatus(resources.pods, { ...p, status: { phase: 'Running', podIP: ip, startTime: iso(Date.now()), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(Date.now()) }], containerStatuses: [{ name, image: '', imageID: '', ready, restartCount: 0, state: { running: { startedAt: iso(Date.now()) } } }] } });
    return;
  }
  if (fate === 'succeed' || fate === 'fail') {
    const exitCode = fate === 'fail' ? 1 : 0;
    const done = iso(Date.now());
    await client.updateStatus(resources.pods, { ...p, status: { ...p.status, phase: fate === 'fail' ? 'Failed' : 'Succeeded', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: done }], containerStatuses: [{ name, image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', finishedAt: done } } }] } });
  } else if ((p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True') !== ready) {
    await client.updateStatus(resources.pods, { ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(Date.now()) }] } });
  }
}

export async function workbench(t: ExecutionContext, o: WorkbenchOptions): Promise<Workbench> {
  const server = await startServer(t);
  const client = new ApiClient({ server: server.url });
  const manager = new ControllerManager({ client, controllers: o.controllers, maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 }, ...(o.workloads ? { workloads: o.workloads } : {}) });
  await manager.start();
  const pods = async (labelSelector?: string) => (await client.list<Pod>(resources.pods, { namespace: 'default', ...(labelSelector ? { labelSelector } : {}) })).items;
  let stop = false;
  const kubelet = (async () => {
    while (!stop && o.fate) {
      for (const p of await pods().catch(() => [])) await step(client, p, o.fate(p)).catch(() => undefined);
      await sleep(100);
    }
  })();
  t.teardown(async () => {
    stop = true;
    await kubelet;
    await manager.stop();
    await client.close();
  });
  const dir = await tempDir(t);
  const k = async (args: string[], ko: { input?: string; allowFail?: boolean } = {}): Promise<string> => {
    const r = await kubectl(o.kubectl ?? kubectlBin, server.url, join(dir, 'cache'), args, ko.input);
    if (!ko.allowFail) t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return ko.allowFail ? r.stdout + r.stderr : r.stdout;
  };
  return { client, manager, k, pods };
}
