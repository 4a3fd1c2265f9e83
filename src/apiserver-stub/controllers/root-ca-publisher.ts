import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { createLogger } from '../../util/log.ts';
import { Controller } from './controller.ts';
import { ignoreRaced, isActiveNamespace } from './serviceaccount-controller.ts';
import type { WorkloadInformers } from './workload-informers.ts';

const log = createLogger('root-ca-cert-publisher');

/** The ConfigMap pods read the cluster CA from (their projected ServiceAccount volume's `ca.crt`). */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

/** kube's own annotation on the ConfigMap. */
const DESCRIPTION = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCaPublisherConfig {
  client: ApiClient;
  workloads: WorkloadInformers;
  /** PEM of the CA that signed the apiserver's serving certificate (`--root-ca-file`). */
  rootCa: string;
}

/**
 * RootCaPublisher keeps a `kube-root-ca.crt` ConfigMap holding the cluster
 * CA in every active namespace (kube's root-ca-cert-publisher), re-making it
 * when deleted and restoring it when edited, so in-cluster clients can
 * verify `https://kubernetes.default.svc`.
 */
export class RootCaPublisher {
  readonly controller: Controller;
  private readonly cfg: RootCaPublisherConfig;

  constructor(cfg: RootCaPublisherConfig) {
    this.cfg = cfg;
    this.controller = new Controller('root-ca-cert-publisher', (ns) => this.sync(ns));
    const enqueue = (ns: string | undefined) => ns && this.controller.enqueue(ns);
    cfg.workloads.namespaces.addHandlers({ onAdd: (n) => enqueue(n.metadata?.name), onUpdate: (_o, n) => enqueue(n.metadata?.name) });
    const configMaps = cfg.workloads.configMapsNamed(ROOT_CA_CONFIGMAP);
    configMaps.addHandlers({ onUpdate: (_o, cm) => enqueue(cm.metadata?.namespace), onDelete: (cm) => enqueue(cm.metadata?.namespace) });
  }

  run(): void {
    this.controller.run(1);
  }

  async sync(namespace: string): Promise<void> {
    if (!isActiveNamespace(this.cfg.workloads.namespaces.store.get(namespace))) return;
    const current = this.cfg.workloads.configMapsNamed(ROOT_CA_CONFIGMAP).store.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    const data = { 'ca.crt': this.cfg.rootCa };
    try {
      if (!current) {
        const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { 'kubernetes.io/description': DESCRIPTION } }, data };
        await this.cfg.client.create(resources.configmaps, cm, { namespace });
        log.info(2, 'Published the root CA', { namespace });
      } else if (current.data?.['ca.crt'] !== this.cfg.rootCa || Object.keys(current.data ?? {}).length !== 1) {
        await this.cfg.client.update(resources.configmaps, { ...current, data });
        log.info(2, 'Restored the root CA', { namespace });
      }
    } catch (error) {
      ignoreRaced(error);
    }
  }
}
