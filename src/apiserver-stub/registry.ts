import type { Backend, KeyValue, StoredValue } from './storage/backend.ts';
import type { KubeObject, Meta, StatusCause } from '../kube/types.ts';
import { generateName } from '../kube/names.ts';
import { deepEqual } from '../kube/patch-errors.ts';
import { ApiError, apiErrors, cause, isStoreError } from './errors.ts';
import { carryUpdateMeta, fillCreateMeta, metaOf, specChanged, validateMeta } from './meta.ts';
import { apiVersionOf, groupResource, type ResourceDef } from './resource.ts';
import { dryRunWrites, type Writes } from './dry-run.ts';
import { checkFieldTypes } from './field-types.ts';
import { yieldIfBusy } from './yield.ts';
import { encodeValue, takeEncoded } from './storage/encoded-value.ts';

/**
 * How long a delete or a patch without a resourceVersion keeps re-reading
 * and retrying when a concurrent write beat it, as kube's GuaranteedUpdate
 * retries until it lands: a fixed few attempts lost to a controller writing
 * status in a loop (409 on `kubectl delete` of a busy StatefulSet).
 */
const CONFLICT_RETRY_MS = 10_000;

/**
 * conflictPause waits before re-reading after a conflict: the file store
 * compares against the key's in-flight write while reads see the durable
 * state, so re-reading before that write's fdatasync ends only conflicts
 * again (six quick retries were all lost inside one sync).
 */
const conflictPause = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(50, 2 ** attempt)));

/**
 * Registry is the generic REST store for one resource over the Backend, as
 * apiserver's `registry.Store`: keys, resourceVersion stamping, system
 * metadata, defaults and validation, optimistic concurrency, status
 * subresource separation, finalizers and deletionTimestamp.
 */
export class Registry {
  readonly def: ResourceDef;
  private readonly backend: Backend;
  /** Key prefix of every object of this resource. */
  private readonly base: string;
  private readonly jsonCache = new WeakMap<StoredValue, { revision: number; json: string }>();
  private readonly responseJson = new WeakMap<KubeObject, string>();

  constructor(backend: Backend, def: ResourceDef) {
    this.backend = backend;
    this.def = def;
    const stored = def.storedAs ?? def;
    this.base = `/registry/${stored.group === '' ? '' : `${stored.group}/`}${stored.resource}/`;
  }

  /**
   * store is the Backend this resource's objects are read and written
   * through: the server's, or for a CRD version with webhook conversion one
   * that converts (crd/converting-store.ts). List and watch handlers read it.
   */
  get store(): Backend {
    return this.backend;
  }

  /** prefix is the key prefix of one namespace, or of every object when namespace is undefined. */
  prefix(namespace?: string): string {
    return this.def.namespaced && namespace !== undefined ? `${this.base}${namespace}/` : this.base;
  }

  key(namespace: string | undefined, name: string): string {
    return this.def.namespaced ? `${this.prefix(namespace)}${name}` : `${this.prefix()}${name}`;
  }

  /** toObject stamps what readers see: apiVersion, kind and the revision as resourceVersion. */
  toObject(kv: { value: StoredValue; revision: number }): KubeObject {
    // Stored values are shared with the store: copy the top level and metadata
    // (the only levels the server sets); callers that change deeper fields clone first.
    const value = this.def.storedAs ? this.def.storedAs.fromStored(kv.value as KubeObject) : (kv.value as KubeObject);
    return { ...value, apiVersion: apiVersionOf(this.def), kind: this.def.kind, metadata: { ...value.metadata, resourceVersion: String(kv.revision) } };
  }

  /**
   * toJson is toObject serialised, cached per stored value (values are
   * immutable and shared by the store), so lists and watch fan-out serialise
   * each object once rather than once per reader.
   */
  toJson(kv: { value: StoredValue; revision: number }): string {
    const cached = this.jsonCache.get(kv.value);
    if (cached !== undefined && cached.revision === kv.revision) return cached.json;
    const json = this.spliced(kv) ?? JSON.stringify(this.toObject(kv));
    this.jsonCache.set(kv.value, { revision: kv.revision, json });
    return json;
  }

  /**
   * spliced is toJson from the text the write encoded (no second
   * serialisation): toObject changes only metadata.resourceVersion, added
   * last, when the stored value already carries this resource's apiVersion and kind.
   */
  private spliced(kv: { value: StoredValue; revision: number }): string | undefined {
    const encoded = takeEncoded(kv.value);
    const value = kv.value as KubeObject;
    if (encoded === undefined || encoded.metaEnd < 0 || this.def.storedAs || value.apiVersion !== apiVersionOf(this.def) || value.kind !== this.def.kind) return undefined;
    if (value.metadata?.resourceVersion !== undefined) return undefined;
    const { text, metaEnd } = encoded;
    const comma = text[metaEnd - 2] === '{' ? '' : ',';
    return `${text.slice(0, metaEnd - 1)}${comma}"resourceVersion":"${kv.revision}"}${text.slice(metaEnd)}`;
  }

  /**
   * respond is what a write hands back: the object, with its text cached for
   * jsonOf (and for lists and watches), so the response is not serialised again.
   */
  private respond(kv: { value: StoredValue; revision: number }): KubeObject {
    const object = this.toObject(kv);
    this.responseJson.set(object, this.toJson(kv));
    return object;
  }

  /** jsonOf is the text of an object a write of this registry returned (and nobody changed since), else its serialisation. */
  jsonOf(object: KubeObject): string {
    return this.responseJson.get(object) ?? JSON.stringify(object);
  }

  /** toStored hands obj to the store, which then shares it: callers build obj fresh and never touch it afterwards. */
  private toStored(obj: KubeObject): StoredValue {
    const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
    const as = this.def.storedAs;
    if (as) return { ...as.toStored(obj), apiVersion: as.apiVersion, kind: as.kind, metadata } as StoredValue;
    return { ...obj, apiVersion: apiVersionOf(this.def), kind: this.def.kind, metadata } as StoredValue;
  }

  /**
   * encodedOrCancel is toStored, serialised once for the store, the log and
   * the response (encodeValue), after the strategy reserved what the object
   * takes (its addresses, which it writes into the object): as kube encodes
   * before it stores, a body that cannot be encoded fails alone and gives
   * back what was reserved, in the same tick.
   */
  private encodedOrCancel(obj: KubeObject, reservation: { cancel(): void } | undefined): StoredValue {
    const stored = this.toStored(obj);
    try {
      encodeValue(stored);
    } catch (error) {
      reservation?.cancel();
      throw apiErrors.badRequest(`the object cannot be encoded: ${(error as Error).message}`);
    }
    return stored;
  }

  private writes(dryRun = false): Writes {
    return dryRun ? dryRunWrites(this.backend) : this.backend;
  }

  notFound(name: string): ApiError {
    return apiErrors.notFound(groupResource(this.def), name);
  }

  async getKV(namespace: string | undefined, name: string): Promise<KeyValue> {
    const kv = await this.backend.get(this.key(namespace, name));
    if (!kv) throw this.notFound(name);
    return kv;
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.toObject(await this.getKV(namespace, name));
  }

  private invalid(obj: KubeObject, causes: StatusCause[]): ApiError {
    const name = obj.metadata?.name;
    return apiErrors.invalid(this.def.kind, this.def.group, typeof name === 'string' ? name : '', causes);
  }

  /** checkTypes runs before defaults, which would otherwise paper over a wrongly typed field (`strategy: 0`). */
  private checkTypes(obj: KubeObject): void {
    // A custom resource's types are its schema's, checked by its strategy.
    const causes = this.def.custom ? [] : checkFieldTypes(obj, this.def.kind);
    if (causes.length > 0) throw this.invalid(obj, causes);
  }

  private check(obj: KubeObject, old: KubeObject | undefined): void {
    const causes = [...validateMeta(obj, this.def.nameFormat), ...(this.def.strategy.validate?.(obj, old) ?? [])];
    if (causes.length > 0) throw this.invalid(obj, causes);
  }

  /** create writes body (which it takes over: callers pass a fresh object) as a new object. */
  async create(namespace: string | undefined, body: KubeObject, dryRun = false): Promise<KubeObject> {
    const obj = body;
    this.checkTypes(obj);
    await yieldIfBusy();
    const m = metaOf(obj);
    if (this.def.namespaced) m.namespace = namespace;
    else delete m.namespace;
    fillCreateMeta(obj);
    this.def.strategy.prepareForCreate?.(obj);
    this.def.strategy.defaults?.(obj);
    await this.def.strategy.admitCreate?.(obj);
    const generate = (m.name === undefined || m.name === '') && typeof m.generateName === 'string' && m.generateName !== '';
    for (let attempt = 0; ; attempt++) {
      if (generate) m.name = generateName(m.generateName!);
      this.check(obj, undefined);
      await yieldIfBusy();
      const reservation = this.def.strategy.reserve?.(obj, undefined);
      const stored = this.encodedOrCancel(obj, reservation);
      try {
        const kv = await this.writes(dryRun).create(this.key(namespace, m.name!), stored);
        if (dryRun) reservation?.cancel();
        else reservation?.commit();
        return this.respond(kv);
      } catch (error) {
        reservation?.cancel();
        if (isStoreError(error, 'KEY_EXISTS')) {
          if (generate && attempt < 7) continue;
          throw apiErrors.alreadyExists(groupResource(this.def), m.name!);
        }
        throw error;
      }
    }
  }

  /**
   * update replaces the object at name. `subresource: 'status'` takes only the
   * status from the body; a main-resource write keeps the stored status when
   * the kind has a status subresource. `beforeWrite` sees the body with the
   * stored object (field ownership is computed there, without a second read).
   */
  async update(namespace: string | undefined, name: string, body: KubeObject, subresource?: 'status', dryRun = false, beforeWrite?: (body: KubeObject, old: KubeObject | undefined) => void): Promise<{ object: KubeObject; created: boolean }> {
    const m = metaOf(body);
    if (m.name !== undefined && m.name !== name) throw apiErrors.badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
    const current = await this.backend.get(this.key(namespace, name));
    if (!current) {
      beforeWrite?.(body, undefined);
      if (this.def.allowCreateOnUpdate && subresource === undefined) return { object: await this.create(namespace, { ...body, metadata: { ...metaOf(body), name } }, dryRun), created: true };
      throw this.notFound(name);
    }
    const rv = m.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== String(current.revision)) {
      throw apiErrors.conflict(groupResource(this.def), name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const old = this.toObject(current);
    beforeWrite?.(body, old);
    const obj = this.merged(body, old, subresource);
    return { object: await this.write(namespace, name, obj, old, current.revision, dryRun), created: false };
  }

  /** merged is what a write stores from body over old; `owned`: body is a copy made for this write (mutate's), not cloned again. */
  private merged(body: KubeObject, old: KubeObject, subresource: 'status' | undefined, owned = false): KubeObject {
    if (subresource === 'status') {
      const obj = structuredClone(old);
      if (body.status === undefined) delete obj.status;
      else obj.status = structuredClone(body.status);
      // The status write's field ownership (server-side apply bookkeeping) goes with it; none left is none stored.
      if (body.metadata?.managedFields !== undefined) metaOf(obj).managedFields = structuredClone(body.metadata.managedFields);
      else delete metaOf(obj).managedFields;
      return obj;
    }
    const obj = owned ? body : structuredClone(body);
    const m = metaOf(obj);
    m.name = old.metadata?.name;
    if (this.def.namespaced) m.namespace = old.metadata?.namespace;
    if (this.def.statusSubresource) {
      if (old.status === undefined) delete obj.status;
      else obj.status = structuredClone(old.status);
    }
    carryUpdateMeta(obj, old);
    return obj;
  }

  /** write stores obj over old at revision, or deletes it when its last finalizer went away during a deletion. */
  private async write(namespace: string | undefined, name: string, obj: KubeObject, old: KubeObject, revision: number, dryRun: boolean): Promise<KubeObject> {
    this.checkTypes(obj);
    this.def.strategy.prepareForUpdate?.(obj, old);
    this.def.strategy.defaults?.(obj);
    this.check(obj, old);
    const m = metaOf(obj);
    if (specChanged(obj, old)) m.generation = (old.metadata?.generation ?? 1) + 1;
    // As kube's ShouldDeleteDuringUpdate: only a deletion that is no longer waiting on a grace period completes here.
    if (m.deletionTimestamp !== undefined && m.deletionGracePeriodSeconds === 0 && (m.finalizers ?? []).length === 0) {
      const deleted = await this.writes(dryRun).delete(this.key(namespace, name), revision).catch((e: unknown) => this.mapWriteError(e, name));
      return this.toObject(deleted);
    }
    const unchanged = deepEqual({ ...obj, metadata: { ...m, resourceVersion: undefined } }, { ...old, metadata: { ...old.metadata, resourceVersion: undefined } });
    if (unchanged) return old;
    const reservation = this.def.strategy.reserve?.(obj, old);
    const stored = this.encodedOrCancel(obj, reservation);
    try {
      const kv = await this.writes(dryRun).update(this.key(namespace, name), stored, revision);
      if (dryRun) reservation?.cancel();
      else reservation?.commit();
      return this.respond(kv);
    } catch (error) {
      reservation?.cancel();
      return this.mapWriteError(error, name);
    }
  }

  private mapWriteError(error: unknown, name: string): never {
    if (isStoreError(error, 'CONFLICT')) {
      throw apiErrors.conflict(groupResource(this.def), name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    if (isStoreError(error, 'KEY_NOT_FOUND')) throw this.notFound(name);
    throw error;
  }

  /**
   * mutate reads the object, applies `change` to a copy and writes it back,
   * retrying on a concurrent write unless the result pins a resourceVersion
   * (as PATCH does: a patch carrying a resourceVersion must not be retried).
   */
  async mutate(namespace: string | undefined, name: string, change: (obj: KubeObject, resourceVersion: string) => KubeObject, subresource?: 'status', dryRun = false): Promise<KubeObject> {
    const giveUp = Date.now() + CONFLICT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await conflictPause(attempt);
      const current = await this.getKV(namespace, name);
      const old = this.toObject(current);
      const base = structuredClone(old);
      delete metaOf(base).resourceVersion;
      const changed = change(base, String(current.revision));
      const pinned = changed.metadata?.resourceVersion;
      if (pinned !== undefined && pinned !== '' && pinned !== String(current.revision)) {
        throw apiErrors.conflict(groupResource(this.def), name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      // Checked before merged, which takes changed over (it is base's copy) and sets the stored name on it.
      if (metaOf(changed).name !== undefined && changed.metadata?.name !== name) {
        throw this.invalid(old, [cause.invalid('metadata.name', changed.metadata?.name, 'field is immutable')]);
      }
      const obj = this.merged(changed, old, subresource, true);
      try {
        return await this.write(namespace, name, obj, old, current.revision, dryRun);
      } catch (error) {
        const retriable = error instanceof ApiError && error.status.reason === 'Conflict' && (pinned === undefined || pinned === '');
        if (!retriable || Date.now() > giveUp) throw error;
      }
    }
  }

  /**
   * delete removes the object, or keeps it marked with deletionTimestamp
   * while it has finalizers or a grace period (pods bound to a node: their
   * node agent stops them and deletes again with grace 0, as kubelet does).
   * Returns the object and whether it is gone.
   */
  async delete(namespace: string | undefined, name: string, options: DeleteRequest = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    const giveUp = Date.now() + CONFLICT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await conflictPause(attempt);
      const current = await this.getKV(namespace, name);
      const obj = this.toObject(current);
      const m = metaOf(obj);
      checkPreconditions(this.def, name, m, options.preconditions);
      const grace = this.def.strategy.gracePeriod?.(obj, options.gracePeriodSeconds) ?? 0;
      // The garbage collector's finalizer (orphan, foregroundDeletion) is set on the first delete, as kube's deletion strategy does.
      if (options.finalizer !== undefined && m.deletionTimestamp === undefined && !(m.finalizers ?? []).includes(options.finalizer)) m.finalizers = [...(m.finalizers ?? []), options.finalizer];
      const finalizers = (m.finalizers ?? []).length > 0;
      try {
        if (grace > 0 || finalizers) {
          const pending = m.deletionGracePeriodSeconds;
          if (m.deletionTimestamp !== undefined && (pending === undefined || pending <= grace)) return { object: obj, deleted: false };
          m.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
          m.deletionGracePeriodSeconds = grace;
          const kv = await this.writes(options.dryRun).update(this.key(namespace, name), this.toStored(obj), current.revision);
          return { object: this.toObject(kv), deleted: false };
        }
        const kv = await this.writes(options.dryRun).delete(this.key(namespace, name), current.revision);
        return { object: this.toObject(kv), deleted: !options.dryRun };
      } catch (error) {
        // Each retry re-reads and re-checks the preconditions, so a resourceVersion precondition still conflicts.
        if (!isStoreError(error, 'CONFLICT') || Date.now() > giveUp) this.mapWriteError(error, name);
      }
    }
  }
}

/** DeleteRequest is what a DELETE may carry (metav1.DeleteOptions). */
export interface DeleteRequest {
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  /** A finalizer to add before marking the object deleted (propagationPolicy Orphan or Foreground). */
  finalizer?: string;
  /** Check everything, persist nothing (`?dryRun=All`). */
  dryRun?: boolean;
}

function checkPreconditions(def: ResourceDef, name: string, m: Meta, preconditions: DeleteRequest['preconditions']): void {
  if (preconditions?.uid !== undefined && preconditions.uid !== m.uid) {
    throw apiErrors.conflict(groupResource(def), name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${m.uid}`);
  }
  if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== m.resourceVersion) {
    throw apiErrors.conflict(groupResource(def), name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion}`);
  }
}
