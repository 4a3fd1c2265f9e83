import type { ApiClient } from '../../client/api-client.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { DeploymentController } from './deployment-controller.ts';
import { EndpointsController } from './endpoints-controller.ts';
import { EndpointSliceController } from './endpointslice-controller.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { NodeLifecycleController } from './node-lifecycle-controller.ts';
import { SharedInformers } from './informers.ts';
import { ReplicaSetController } from './replicaset-controller.ts';
import { RootCaPublisher } from './root-ca-publisher.ts';
import { ServiceAccountsController } from './serviceaccount-controller.ts';
import { WorkloadInformers } from './workload-informers.ts';
import { addWorkloadControllers, WORKLOAD_CONTROLLER_NAMES, type WorkloadOptions } from './workload-controllers.ts';

const log = createLogger('controller-manager');

export const CONTROLLER_NAMES = ['endpointslice', 'endpoints', 'replicaset', 'deployment', 'nodelifecycle', 'garbagecollector', 'serviceaccount', 'root-ca-cert-publisher', ...WORKLOAD_CONTROLLER_NAMES] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

export interface ControllerManagerOptions {
  client: ApiClient;
  /** Which controllers to run (default all). */
  controllers?: readonly string[];
  maxEndpointsPerSlice: number;
  /** Informer resync: every object is looked at again this often, repairing anything a missed event left. */
  resyncPeriodMs: number;
  workers: { endpointslice: number; endpoints: number; replicaset: number; deployment: number; garbagecollector?: number };
  /** Node lifecycle: heartbeat age after which a node is Unknown, and how often to check (kube: 40s, 5s). */
  nodeMonitor?: { gracePeriodMs: number; periodMs: number };
  /** PEM of the cluster CA (`--root-ca-file`): published in every namespace as kube-root-ca.crt; without it that controller does not run. */
  rootCa?: string;
  /** Job, CronJob, DaemonSet and StatefulSet controllers: workers and test clocks. */
  workloads?: WorkloadOptions;
}

interface Runnable {
  run(): void;
  halt?(): void;
  controller: { stop(): Promise<void>; queue: { idle: boolean } };
}

/**
 * ControllerManager runs the chosen controllers over one set of shared
 * informers (kube-controller-manager). It survives apiserver restarts: the
 * informers relist, and failed writes are retried with back-off.
 */
export class ControllerManager {
  readonly informers: SharedInformers;
  readonly workloads: WorkloadInformers;
  private readonly running: Runnable[] = [];

  constructor(o: ControllerManagerOptions) {
    const names = o.controllers && o.controllers.length > 0 ? o.controllers : CONTROLLER_NAMES;
    for (const n of names) if (!(CONTROLLER_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown controller ${JSON.stringify(n)} (known: ${CONTROLLER_NAMES.join(', ')})`);
    if (!Number.isInteger(o.maxEndpointsPerSlice) || o.maxEndpointsPerSlice < 1 || o.maxEndpointsPerSlice > 1000) {
      throw new InvalidArgumentError(`invalid max-endpoints-per-slice ${o.maxEndpointsPerSlice}: must be between 1 and 1000`);
    }
    this.informers = new SharedInformers(o.client, o.resyncPeriodMs);
    this.workloads = new WorkloadInformers(o.client, o.resyncPeriodMs);
    const common = { client: o.client, informers: this.informers };
    this.running.push(...addWorkloadControllers(names, { ...common, workloads: this.workloads }, o.workloads ?? {}));
    for (const n of names as readonly ControllerName[]) {
      if (n === 'endpointslice') this.running.push(new EndpointSliceController({ ...common, maxEndpointsPerSlice: o.maxEndpointsPerSlice, workers: o.workers.endpointslice }));
      if (n === 'endpoints') this.running.push(new EndpointsController({ ...common, workers: o.workers.endpoints }));
      if (n === 'replicaset') this.running.push(new ReplicaSetController({ ...common, workers: o.workers.replicaset }));
      if (n === 'deployment') this.running.push(new DeploymentController({ ...common, workers: o.workers.deployment }));
      if (n === 'garbagecollector') this.running.push(new GarbageCollector({ ...common, workloads: this.workloads, workers: o.workers.garbagecollector ?? 20, resyncPeriodMs: o.resyncPeriodMs }));
      if (n === 'serviceaccount') this.running.push(new ServiceAccountsController({ client: o.client, workloads: this.workloads }));
      if (n === 'root-ca-cert-publisher' && o.rootCa !== undefined) this.running.push(new RootCaPublisher({ client: o.client, workloads: this.workloads, rootCa: o.rootCa }));
      if (n === 'nodelifecycle') {
        const m = o.nodeMonitor ?? { gracePeriodMs: 40_000, periodMs: 5000 };
        this.running.push(new NodeLifecycleController({ ...common, gracePeriodMs: m.gracePeriodMs, monitorPeriodMs: m.periodMs }));
      }
    }
  }

  /** start lists and watches, then starts the workers once every cache has synced. */
  async start(): Promise<void> {
    this.informers.start();
    this.workloads.start();
    await Promise.all([this.informers.synced(), this.workloads.synced()]);
    for (const r of this.running) r.run();
    log.info(1, 'Controllers started', { controllers: this.running.length });
  }

  /** idle tells whether every controller's queue is drained (benchmarks wait for it). */
  idle(): boolean {
    return this.running.every((r) => r.controller.queue.idle);
  }

  async stop(): Promise<void> {
    for (const r of this.running) r.halt?.();
    await Promise.all(this.running.map((r) => r.controller.stop()));
    await Promise.all([this.informers.stop(), this.workloads.stop()]);
  }
}
