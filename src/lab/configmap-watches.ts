import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../client/api-client.ts';
import { Informer } from '../client/informer.ts';
import { resources } from '../client/resources.ts';

/**
 * ConfigMapWatches follows the ConfigMaps the node's pods mount, each by a
 * watch of its own (`metadata.name=<name>` in its namespace), as kubelet's
 * watch-based ConfigMap manager does: the Node authorizer lets a node read
 * the ConfigMaps its pods use and never list them all.
 */
export class ConfigMapWatches {
  private readonly watches = new Map<string, Informer<ConfigMap>>();
  private readonly client: ApiClient;
  private readonly changed: (cm: ConfigMap) => void;

  constructor(client: ApiClient, changed: (cm: ConfigMap) => void) {
    this.client = client;
    this.changed = changed;
  }

  /** follow watches exactly the ConfigMaps that `pods` mount as volumes. */
  follow(pods: Iterable<Pod>): void {
    const want = new Set([...pods].flatMap((p) => (p.spec?.volumes ?? []).flatMap((v) => (v.configMap?.name ? [`${p.metadata?.namespace ?? 'default'}/${v.configMap.name}`] : []))));
    for (const [key, informer] of this.watches) {
      if (want.has(key)) continue;
      void informer.stop();
      this.watches.delete(key);
    }
    for (const key of want) {
      if (this.watches.has(key)) continue;
      const [namespace, name] = key.split('/') as [string, string];
      const informer = new Informer<ConfigMap>({ client: this.client, resource: resources.configmaps, namespace, fieldSelector: `metadata.name=${name}` });
      informer.addHandlers({ onAdd: this.changed, onUpdate: (_old, cm) => this.changed(cm) });
      informer.start();
      this.watches.set(key, informer);
    }
  }

  /** get is the watched copy, if the watch has it yet. */
  get(namespace: string, name: string): ConfigMap | undefined {
    return this.watches.get(`${namespace}/${name}`)?.store.get(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((i) => i.stop()));
  }
}
