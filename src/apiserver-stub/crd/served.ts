import type { KubeObject } from '../../kube/types.ts';
import { createLogger } from '../../util/log.ts';
import { Registry } from '../registry.ts';
import type { ResourceDef } from '../resource.ts';
import type { Backend, StoreWatch } from '../storage/backend.ts';
import { crdDefs } from './defs.ts';
import type { WebhookOptions } from './conversion-webhook.ts';
import { endpointResolver, storageApiVersion, webhookConvert } from './conversion.ts';
import { ConvertingStore } from './converting-store.ts';

const log = createLogger('apiserver');

/**
 * CustomResources follows the stored CustomResourceDefinitions and serves
 * what they define (kube's apiextensions `crdHandler`): a CRD is served as
 * soon as its write is seen on the store's watch, changes take effect the
 * same way, and a deleted CRD's objects are deleted with it. With
 * `conversion.strategy: Webhook` each version reads and writes through a
 * ConvertingStore that calls the CRD's webhook.
 */
export class CustomResources {
  /** `group/version/resource` → the registry serving that version. */
  private readonly byVersion = new Map<string, Registry>();
  /** CRD name → its registries, preferred version first. */
  private readonly byCrd = new Map<string, Registry[]>();
  private feed: StoreWatch | undefined;
  private closing = false;

  private readonly backend: Backend;
  private readonly crds: Registry;
  /** Called after the served set changed (discovery and OpenAPI are rebuilt). */
  private readonly changed: () => void;
  private readonly webhook: WebhookOptions;
  /** CRD name → the registry of its storage version. */
  private readonly storageByCrd = new Map<string, Registry>();

  constructor(backend: Backend, crds: Registry, changed: () => void, webhook: WebhookOptions = {}) {
    this.backend = backend;
    this.crds = crds;
    this.changed = changed;
    this.webhook = webhook;
  }

  async start(): Promise<void> {
    const list = await this.backend.list(this.crds.prefix());
    for (const kv of list.items) this.serve(this.crds.toObject(kv));
    this.changed();
    this.feed = await this.backend.watch(this.crds.prefix(), list.revision, {
      onEvent: (event) => {
        const crd = this.crds.toObject(event);
        if (event.type === 'DELETED') void this.remove(crd);
        else this.serve(crd);
        this.changed();
      },
      onClose: (reason) => {
        if (this.closing) return;
        log.warn('CustomResourceDefinition feed closed; relisting', { reason });
        setTimeout(() => void this.start().catch((error: unknown) => log.error('Relisting CRDs failed', { error })), 1000).unref();
      },
    });
  }

  private serve(crd: KubeObject): void {
    const name = crd.metadata!.name!;
    this.unserve(name);
    let defs: ResourceDef[];
    try {
      defs = crdDefs(crd);
    } catch (error) {
      return log.warn('CustomResourceDefinition not served', { name, error: String(error) });
    }
    const convert = webhookConvert(crd, endpointResolver(this.backend), this.webhook);
    const storage = storageApiVersion(crd);
    const store = (served: string) => (convert && storage ? new ConvertingStore(this.backend, convert, served, storage) : this.backend);
    const registries = defs.map((d) => new Registry(store(`${d.group}/${d.version}`), d));
    this.byCrd.set(name, registries);
    const stored = registries.find((r) => `${r.def.group}/${r.def.version}` === storage) ?? registries[0];
    if (stored) this.storageByCrd.set(name, stored);
    for (const r of registries) this.byVersion.set(`${r.def.group}/${r.def.version}/${r.def.resource}`, r);
  }

  private unserve(name: string): Registry[] {
    const registries = this.byCrd.get(name) ?? [];
    for (const r of registries) this.byVersion.delete(`${r.def.group}/${r.def.version}/${r.def.resource}`);
    this.byCrd.delete(name);
    this.storageByCrd.delete(name);
    return registries;
  }

  /** remove stops serving a deleted CRD and deletes its objects, as kube's CRD finalizer does before the CRD goes. */
  private async remove(crd: KubeObject): Promise<void> {
    this.unserve(crd.metadata!.name!);
    const spec = crd.spec as { group?: string; names?: { plural?: string } } | undefined;
    if (!spec?.group || !spec.names?.plural) return;
    const prefix = `/registry/${spec.group}/${spec.names.plural}/`;
    const list = await this.backend.list(prefix);
    for (const kv of list.items) await this.backend.delete(kv.key).catch(() => undefined);
  }

  lookup(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.byVersion.get(`${group}/${version}/${resource}`)?.def;
  }

  registry(group: string, version: string, resource: string): Registry | undefined {
    return this.byVersion.get(`${group}/${version}/${resource}`);
  }

  /**
   * One registry per CRD (one per storage prefix), for the server's own
   * reads and writes (garbage collection, namespace cleanup): the storage
   * version's when it is served, so they need no conversion.
   */
  storageRegistries(): Registry[] {
    return [...this.storageByCrd.values()];
  }

  defs(): ResourceDef[] {
    return [...this.byCrd.values()].flat().map((r) => r.def);
  }

  close(): void {
    this.closing = true;
    this.feed?.close();
  }
}
