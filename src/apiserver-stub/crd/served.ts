import type { KubeObject } from '../../kube/types.ts';
import { createLogger } from '../../util/log.ts';
import { Registry } from '../registry.ts';
import type { ResourceDef } from '../resource.ts';
import type { Backend, StoredValue } from '../storage/backend.ts';
import { StoreFeed } from '../storage/store-feed.ts';
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
 * ConvertingStore that calls the CRD's webhook. The CRDs come from a
 * StoreFeed; a relist also stops serving (and deletes the objects of) the
 * CRDs deleted while the feed was down.
 */
export class CustomResources {
  /** `group/version/resource` → the registry serving that version. */
  private readonly byVersion = new Map<string, Registry>();
  /** CRD name → its registries, preferred version first. */
  private readonly byCrd = new Map<string, Registry[]>();
  /** CRD name → the CRD as last seen, served or not (a relist compares against it). */
  private readonly seen = new Map<string, KubeObject>();
  /** While a list is being put: the CRDs seen before it that it has not listed (yet). */
  private unlisted: Map<string, KubeObject> | undefined;
  private readonly feed: StoreFeed;

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
    this.feed = new StoreFeed(backend, crds.prefix(), 'CustomResourceDefinition', {
      reset: () => void (this.unlisted = new Map(this.seen)),
      put: (_key, value, revision) => this.put(this.toObject(value, revision)),
      remove: (_key, value, revision) => {
        void this.remove(this.toObject(value, revision));
        this.changed();
      },
      listed: () => this.listed(),
    });
  }

  start(): Promise<void> {
    return this.feed.start();
  }

  private toObject(value: StoredValue, revision: number): KubeObject {
    return this.crds.toObject({ value, revision });
  }

  /** put serves a CRD listed or written; discovery is rebuilt per write, and once per list (in listed). */
  private put(crd: KubeObject): void {
    const name = crd.metadata!.name!;
    this.seen.set(name, crd);
    this.serve(crd);
    if (this.unlisted) this.unlisted.delete(name);
    else this.changed();
  }

  /** listed removes the CRDs a relist no longer finds: they were deleted while the feed was down. */
  private listed(): void {
    const gone = this.unlisted ?? new Map<string, KubeObject>();
    this.unlisted = undefined;
    for (const crd of gone.values()) void this.remove(crd);
    this.changed();
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
    this.seen.delete(crd.metadata!.name!);
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
    this.feed.close();
  }
}
