import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { SchedulerService } from '../../../src/apiserver-stub/scheduler/service.ts';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { NodeAgent } from '../../../src/lab/node-agent.ts';
import { NetnsFixture } from '../../helpers/netns-fixture.ts';
import { kubectl, startServer, tempDir, type KubectlResult } from '../apiserver-stub/server-fixture.ts';
import { until as poll } from '../../helpers/until.ts';

/**
 * A one-node lab in this process: the apiserver, the scheduler and a node
 * agent whose pods are real processes in lab namespaces; `k` runs kubectl
 * against it. Everything is stopped in the test's teardown.
 */
export interface OneNodeLab {
  client: ApiClient;
  url: string;
  k(args: string[], input?: string, bin?: string): Promise<KubectlResult>;
  /** kubectlOnTty runs kubectl under a pseudo-terminal (for `-it`), feeding input. */
  kubectlOnTty(args: string[], input: string, bin?: string): Promise<KubectlResult>;
  createPod(pod: Pod): Promise<void>;
  pod(name: string): Promise<Pod>;
}

export const KUBECTL = '/usr/bin/kubectl';

/**
 * TEST_ROOT_CA stands for the cluster CA a plain-HTTP test apiserver does not
 * have: published as kube-root-ca.crt, it fills the ca.crt of the
 * ServiceAccount volume every pod gets, which the node agent waits for as
 * kubelet does.
 */
export const TEST_ROOT_CA = '-----BEGIN CERTIFICATE-----\n(ferry test fixture: a plain-HTTP apiserver has no CA)\n-----END CERTIFICATE-----\n';

/** accountControllers: what a pod's ServiceAccount volume needs (each namespace's `default` account, kube-root-ca.crt). */
export const accountControllers = (client: ApiClient) => new ControllerManager({
  client, controllers: ['serviceaccount', 'root-ca-cert-publisher'], rootCa: TEST_ROOT_CA, maxEndpointsPerSlice: 100, resyncPeriodMs: 0,
  workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 },
});

/** until polls every 150 ms for up to 30 s unless told. */
export const until = <T>(what: string, get: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => poll(what, get, ms, 150);

export async function oneNodeLab(t: ExecutionContext, backoff: { initialMs: number; maxMs: number; resetMs?: number } = { initialMs: 500, maxMs: 2000 }, streaming = true): Promise<OneNodeLab> {
  const fx = new NetnsFixture(t);
  const server = await startServer(t, 'memory', {}, { disableAdmissionPlugins: [] });
  const cache = await tempDir(t, 'ferry-kubectl-');
  const clients: ApiClient[] = [];
  const newClient = () => {
    const c = new ApiClient({ server: server.url }, { connections: 16 });
    clients.push(c);
    return c;
  };
  const client = newClient();
  const scheduler = new SchedulerService({ client: newClient(), percentageOfNodesToScore: 0, schedulerName: 'default-scheduler' });
  const accounts = accountControllers(newClient());
  const agent = new NodeAgent({
    client: newClient(), nodeName: 'node-a', prefix: fx.ns(''), nodeAddress: '192.168.200.11/24', podCIDR: '10.244.1.0/24', clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local',
    capacity: { cpu: '4', memory: '8Gi', pods: '110' }, labels: {}, taints: [], backoff, statusUpdateMs: 5000, stopGraceCapMs: 2000, streaming,
  });
  t.teardown(async () => {
    await agent.stop();
    await scheduler.stop();
    await accounts.stop();
    await Promise.all(clients.map((c) => c.close()));
  });
  await accounts.start();
  await agent.start();
  await scheduler.start();
  const k = (args: string[], input?: string, bin = KUBECTL) => kubectl(bin, server.url, cache, args, input);
  const kubectlOnTty = (args: string[], input: string, bin = KUBECTL) => new Promise<KubectlResult>((resolve) => {
    // The local terminal is 33 rows by 101 columns: kubectl sends that size, the remote terminal must take it.
    const line = `stty rows 33 cols 101; exec ${[bin, '--server', server.url, '--cache-dir', cache, ...args].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')}`;
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: { ...process.env, KUBECONFIG: '/dev/null' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    // Typed slowly, as a person would: the remote shell must be up before the first line arrives.
    void (async () => {
      await sleep(1500);
      for (const line of input.split(/(?<=\n)/)) {
        child.stdin.write(line);
        await sleep(300);
      }
    })();
  });
  return {
    client, url: server.url, k, kubectlOnTty,
    createPod: async (pod) => void (await client.create(resources.pods, { apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { namespace: 'default', ...pod.metadata } })),
    pod: (name) => client.get<Pod>(resources.pods, name, { namespace: 'default' }),
  };
}

export const isRunning = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.state?.running);
