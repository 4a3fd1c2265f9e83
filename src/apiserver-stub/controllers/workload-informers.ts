import type { DaemonSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ConfigMap, Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { ApiClient, KubeObject } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { Informer } from '../../client/informer.ts';
import { byController } from './informers.ts';

/**
 * WorkloadInformers holds the informers of the workload kinds beyond
 * Deployments (Jobs, CronJobs, DaemonSets, StatefulSets) and of what the
 * ServiceAccount and root CA controllers follow (Namespaces, ServiceAccounts,
 * the kube-root-ca.crt ConfigMaps). Each is created
 * only when a controller asks for it, so a controller-manager running only
 * the endpoint controllers does not list them.
 */
export class WorkloadInformers {
  private readonly client: ApiClient;
  private readonly resyncPeriodMs: number;
  private readonly made = new Map<string, Informer<KubeObject>>();
  /** The watches get their own connection pool: each holds a connection for its lifetime. */
  private watchClient: ApiClient | undefined;

  constructor(client: ApiClient, resyncPeriodMs: number) {
    this.client = client;
    this.resyncPeriodMs = resyncPeriodMs;
  }

  private get<T extends KubeObject>(name: keyof typeof resources, fieldSelector?: string): Informer<T> {
    const key = fieldSelector ? `${name}?${fieldSelector}` : name;
    let i = this.made.get(key);
    if (!i) {
      this.watchClient ??= this.client.sibling();
      i = new Informer<KubeObject>({ client: this.watchClient, resyncPeriodMs: this.resyncPeriodMs, resource: resources[name], fieldSelector, indexers: { controller: byController } });
      this.made.set(key, i);
    }
    return i as unknown as Informer<T>;
  }

  get jobs(): Informer<Job> {
    return this.get<Job>('jobs');
  }

  get cronJobs(): Informer<CronJob> {
    return this.get<CronJob>('cronjobs');
  }

  get daemonSets(): Informer<DaemonSet> {
    return this.get<DaemonSet>('daemonsets');
  }

  get statefulSets(): Informer<StatefulSet> {
    return this.get<StatefulSet>('statefulsets');
  }

  get namespaces(): Informer<Namespace> {
    return this.get<Namespace>('namespaces');
  }

  get serviceAccounts(): Informer<ServiceAccount> {
    return this.get<ServiceAccount>('serviceaccounts');
  }

  /** The ConfigMaps of one name in every namespace (kube-root-ca.crt), not every ConfigMap. */
  configMapsNamed(name: string): Informer<ConfigMap> {
    return this.get<ConfigMap>('configmaps', `metadata.name=${name}`);
  }

  start(): void {
    for (const i of this.made.values()) i.start();
  }

  async synced(): Promise<void> {
    await Promise.all([...this.made.values()].map((i) => i.synced));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.made.values()].map((i) => i.stop()));
    await this.watchClient?.close();
  }
}
