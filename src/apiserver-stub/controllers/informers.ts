import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Endpoints, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ApiClient, KubeObject } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { Informer } from '../../client/informer.ts';
import { byNamespace, byServiceName, objectKey } from '../../client/store.ts';
import { selectorMatches } from './pod-endpoint.ts';
import { CONTROLLER_NAME, LABEL_MANAGED_BY } from './endpointslice-reconcile.ts';

/** byController files objects under their controller owner's uid. */
export const byController = (obj: KubeObject): readonly string[] => {
  const ref = (obj as { metadata?: { ownerReferences?: Array<{ controller?: boolean; uid: string }> } }).metadata?.ownerReferences?.find((r) => r.controller);
  return ref ? [ref.uid] : [];
};

/** byLabel files pods under `namespace/key=value` for each of their labels. */
export const byLabel = (obj: KubeObject): readonly string[] => {
  const ns = obj.metadata?.namespace ?? '';
  return Object.entries(obj.metadata?.labels ?? {}).map(([k, v]) => `${ns}/${k}=${v}`);
};

/** bySelector files Services under `namespace/key=value` for each pair of their selector. */
export const bySelector = (obj: KubeObject): readonly string[] => {
  const ns = obj.metadata?.namespace ?? '';
  const selector = (obj as Service).spec?.selector ?? {};
  return Object.entries(selector).map(([k, v]) => `${ns}/${k}=${v}`);
};

/**
 * SharedInformers holds one informer per resource for all the controllers of
 * a controller-manager (client-go's SharedInformerFactory), so each resource
 * is listed and watched once whatever the number of controllers using it.
 */
export class SharedInformers {
  readonly services: Informer<Service>;
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly endpoints: Informer<Endpoints>;
  readonly replicaSets: Informer<ReplicaSet>;
  readonly deployments: Informer<Deployment>;

  constructor(client: ApiClient, resyncPeriodMs: number) {
    const common = { client, resyncPeriodMs };
    this.services = new Informer<Service>({ ...common, resource: resources.services, indexers: { namespace: byNamespace, selector: bySelector } });
    this.pods = new Informer<Pod>({ ...common, resource: resources.pods, indexers: { namespace: byNamespace, controller: byController, label: byLabel } });
    this.nodes = new Informer<Node>({ ...common, resource: resources.nodes });
    this.endpointSlices = new Informer<EndpointSlice>({ ...common, resource: resources.endpointslices, labelSelector: `${LABEL_MANAGED_BY}=${CONTROLLER_NAME}`, indexers: { service: byServiceName } });
    this.endpoints = new Informer<Endpoints>({ ...common, resource: resources.endpoints });
    this.replicaSets = new Informer<ReplicaSet>({ ...common, resource: resources.replicasets, indexers: { controller: byController, namespace: byNamespace } });
    this.deployments = new Informer<Deployment>({ ...common, resource: resources.deployments, indexers: { namespace: byNamespace } });
  }

  /**
   * podsSelectedBy returns the pods a Service selector could match: those
   * carrying its rarest key=value pair (the caller still checks the whole
   * selector). Without this every Service would scan its namespace's pods.
   */
  podsSelectedBy(namespace: string, selector: Readonly<Record<string, string>>): Pod[] {
    let best: Pod[] | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const pods = this.pods.store.byIndex('label', `${namespace}/${k}=${v}`);
      if (!best || pods.length < best.length) best = pods;
      if (best.length === 0) break;
    }
    return best ?? this.pods.store.byIndex('namespace', namespace);
  }

  /** servicesSelecting returns the keys of the Services whose selector matches the labels. */
  servicesSelecting(namespace: string, labels: Readonly<Record<string, string>> | undefined): string[] {
    const keys = new Set<string>();
    for (const [k, v] of Object.entries(labels ?? {})) {
      for (const svc of this.services.store.byIndex('selector', `${namespace}/${k}=${v}`)) {
        if (selectorMatches(svc.spec!.selector!, labels)) keys.add(objectKey(svc));
      }
    }
    return [...keys];
  }

  private all(): Informer<KubeObject>[] {
    return [this.services, this.pods, this.nodes, this.endpointSlices, this.endpoints, this.replicaSets, this.deployments] as unknown as Informer<KubeObject>[];
  }

  start(): void {
    for (const i of this.all()) i.start();
  }

  async synced(): Promise<void> {
    await Promise.all(this.all().map((i) => i.synced));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
