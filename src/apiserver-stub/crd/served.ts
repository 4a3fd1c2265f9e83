import type { KubeObject } from '../../kube/types.ts';
import { createLogger } from '../../util/log.ts';
import { Registry } from '../registry.ts';
import type { ResourceDef } from '../resource.ts';
import type { Backend, StoreWatch } from '../storage/backend.ts';
import { crdDefs } from './defs.ts';

const log = createLogger('apiserver');

/**
 * CustomResources follows the stored CustomResourceDefinitions and serves
 * what they define (kube's apiextensions `crdHandler`): a CRD is served as
 * soon as its write is seen on the store's watch, changes take effect the
 * same way, and a deleted CRD's objects are deleted with it.
 */
export class CustomResources {
  /** `group/version/resource` → the registry serving that version. */
  private readonly byVersion = new Map<string, Registry>();
  /** CRD name → its registries, the storage... preferred version first. */
  private readonly byCrd = new Map<string, Registry[]>();
  private feed: StoreWatch | undefined;
  private closing = false;

  private readonly backend: Backend;
  private readonly crds: Registry;
  /** Called after the served set changed (discovery and OpenAPI are rebuilt). */
  private readonly changed: () => void;

  constructor(backend: Backend, crds: Registry, changed: () => void) {
    this.backend = backend;
    this.crds = crds;
    this.changed = changed;
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
    const registries = defs.map((d) => new Registry(this.backend, d));
    this.byCrd.set(name, registries);
    for (const r of registries) this.byVersion.set(`${r.def.group}/${r.def.version}/${r.def.resource}`, r);
  }

  private unserve(name: string): Registry[] {
    const registries = this.byCrd.get(name) ?? [];
    for (const r of registries) this.byVersion.delete(`${r.def.group}/${r.def.version}/${r.def.resource}`);
    this.byCrd.delete(name);
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

  /** The preferred version's registry of each CRD (one per storage prefix). */
  storageRegistries(): Registry[] {
    return [...this.byCrd.values()].map((rs) => rs[0]!).filter((r) => r !== undefined);
  }

  defs(): ResourceDef[] {
    return [...this.byCrd.values()].flat().map((r) => r.def);
  }

  close(): void {
    this.closing = true;
    this.feed?.close();
  }
}
