import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { ApiError } from '../../client/errors.ts';
import { resources } from '../../client/resources.ts';
import { createLogger } from '../../util/log.ts';
import { Controller } from './controller.ts';
import type { WorkloadInformers } from './workload-informers.ts';

const log = createLogger('serviceaccount-controller');

/** The ServiceAccount every namespace gets (kube-controller-manager's `--service-account-names` default). */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface ServiceAccountsControllerConfig {
  client: ApiClient;
  workloads: WorkloadInformers;
  workers?: number;
}

/**
 * ServiceAccountsController makes sure every active namespace has the
 * `default` ServiceAccount, creating it when a namespace appears and again
 * when someone deletes it (kube's serviceaccounts-controller). Pods that
 * name no ServiceAccount run as it.
 */
export class ServiceAccountsController {
  readonly controller: Controller;
  private readonly cfg: ServiceAccountsControllerConfig;

  constructor(cfg: ServiceAccountsControllerConfig) {
    this.cfg = cfg;
    this.controller = new Controller('serviceaccount', (ns) => this.sync(ns));
    const namespaces = cfg.workloads.namespaces;
    const enqueue = (name: string | undefined) => name && this.controller.enqueue(name);
    namespaces.addHandlers({ onAdd: (n) => enqueue(n.metadata?.name), onUpdate: (_o, n) => enqueue(n.metadata?.name) });
    cfg.workloads.serviceAccounts.addHandlers({ onDelete: (sa) => sa.metadata?.name === DEFAULT_SERVICE_ACCOUNT && enqueue(sa.metadata.namespace) });
  }

  run(): void {
    this.controller.run(this.cfg.workers ?? 1);
  }

  async sync(namespace: string): Promise<void> {
    if (!isActiveNamespace(this.cfg.workloads.namespaces.store.get(namespace))) return;
    if (this.cfg.workloads.serviceAccounts.store.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    const sa: ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } };
    try {
      await this.cfg.client.create(resources.serviceaccounts, sa, { namespace });
      log.info(2, 'Created the default ServiceAccount', { namespace });
    } catch (error) {
      ignoreRaced(error);
    }
  }
}

/** isActiveNamespace: the namespace exists and is not being deleted (kube refuses new objects in one that is). */
export function isActiveNamespace(ns: Namespace | undefined): ns is Namespace {
  return ns !== undefined && ns.status?.phase !== 'Terminating' && !ns.metadata?.deletionTimestamp;
}

/**
 * ignoreRaced lets a per-namespace write pass that lost to the cache being
 * behind (409) or to the namespace going away (403, 404): the next event
 * looks again. Anything else is thrown for the retry with back-off.
 */
export function ignoreRaced(error: unknown): void {
  if (error instanceof ApiError && (error.statusCode === 409 || error.statusCode === 403 || error.statusCode === 404)) return;
  throw error;
}
