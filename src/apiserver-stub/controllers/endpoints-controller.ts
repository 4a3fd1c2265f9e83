import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound } from '../../client/errors.ts';
import { resources } from '../../client/resources.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { Controller } from './controller.ts';
import { desiredEndpoints, endpointsNeedUpdate, LABEL_SKIP_MIRROR } from './endpoints-reconcile.ts';
import type { SharedInformers } from './informers.ts';

const log = createLogger('endpoints-controller');

export interface EndpointsControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  workers: number;
}

/**
 * EndpointsController writes the legacy Endpoints object of every selector
 * Service (kube-controller-manager's endpoints controller), for older tools
 * and `kubectl describe`. Endpoints of Services without a selector belong to
 * whoever wrote them and are left alone.
 */
export class EndpointsController {
  readonly controller: Controller;
  private readonly cfg: EndpointsControllerConfig;

  constructor(cfg: EndpointsControllerConfig) {
    this.cfg = cfg;
    this.controller = new Controller('endpoints', (key) => this.sync(key));
    const inf = cfg.informers;
    const enqueue = (obj: { metadata?: { namespace?: string; name?: string } }) => this.controller.enqueue(objectKey(obj));
    inf.services.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    inf.endpoints.addHandlers({ onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const podChanged = (old: Pod | undefined, pod: Pod) => {
      const ns = pod.metadata?.namespace ?? '';
      for (const k of inf.servicesSelecting(ns, pod.metadata?.labels)) this.controller.enqueue(k);
      if (old && old.metadata?.labels !== pod.metadata?.labels) for (const k of inf.servicesSelecting(ns, old.metadata?.labels)) this.controller.enqueue(k);
    };
    inf.pods.addHandlers({ onAdd: (p) => podChanged(undefined, p), onUpdate: podChanged, onDelete: (p) => podChanged(undefined, p) });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  async sync(key: string): Promise<void> {
    const inf = this.cfg.informers;
    const client = this.cfg.client;
    const [namespace, name] = key.split('/') as [string, string];
    const service = inf.services.store.get(key);
    const current = inf.endpoints.store.get(key);
    if (!service) {
      if (current?.metadata?.labels?.[LABEL_SKIP_MIRROR] !== 'true') return;
      await client.delete(resources.endpoints, name, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      return;
    }
    if (!service.spec?.selector || service.spec.type === 'ExternalName') return;
    const desired = desiredEndpoints(service, inf.podsSelectedBy(namespace, service.spec.selector));
    if (!current) {
      await client.create(resources.endpoints, desired);
      log.info(2, 'Created Endpoints', { service: key });
      return;
    }
    if (!endpointsNeedUpdate(current, desired)) return;
    const metadata = { ...current.metadata, labels: desired.metadata?.labels };
    const annotations = { ...current.metadata?.annotations };
    delete annotations['endpoints.kubernetes.io/over-capacity'];
    Object.assign(annotations, desired.metadata?.annotations);
    metadata.annotations = annotations;
    await client.update(resources.endpoints, { ...current, metadata, subsets: desired.subsets });
    log.info(2, 'Updated Endpoints', { service: key });
  }
}
