import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ApiClient, KubeObject } from '../../client/api-client.ts';
import { isConflict, isNotFound } from '../../client/errors.ts';
import { resources, type ResourceRef } from '../../client/resources.ts';
import type { Informer } from '../../client/informer.ts';
import { objectKey } from '../../client/store.ts';
import { createLogger } from '../../util/log.ts';
import { Controller, type Requeue } from './controller.ts';
import { blocksOwner, deletingWith, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, type DeletePolicy, type OwnerState, type Owned, ownerStateOf, planItem, withoutOwner } from './garbage-collector-plan.ts';
import type { SharedInformers } from './informers.ts';
import type { WorkloadInformers } from './workload-informers.ts';

const log = createLogger('garbage-collector');

export interface GarbageCollectorConfig {
  client: ApiClient;
  informers: SharedInformers;
  /** The workload kinds' informers (Jobs, CronJobs, DaemonSets, StatefulSets), shared with their controllers. */
  workloads: WorkloadInformers;
  workers: number;
  resyncPeriodMs: number;
}

/** Monitor is one watched resource: its REST reference, the kind owner references name it by, and its cache. */
interface Monitor {
  ref: ResourceRef;
  apiGroup: string;
  kind: string;
  informer: Informer<KubeObject>;
}

type Item = Owned & KubeObject;

const uidOf = (o: Item) => o.metadata?.uid ?? '';
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/**
 * GarbageCollector deletes objects whose owners are gone and carries out the
 * propagation policy of a delete (kube-controller-manager's garbage
 * collector): background (dependents of a deleted owner are collected),
 * foreground (the owner's foregroundDeletion finalizer stays until the
 * dependents that block it are gone) and orphan (dependents lose the
 * reference, then the owner's orphan finalizer is removed). Absent owners are
 * confirmed with a live read, so a cache that has not seen a new owner yet
 * never gets its dependents deleted. It watches the kinds the shared
 * informers cache and the workload kinds (Jobs, CronJobs, DaemonSets,
 * StatefulSets); owners of other kinds count as present.
 */
export class GarbageCollector {
  readonly controller: Controller;
  private readonly cfg: GarbageCollectorConfig;
  private readonly monitors: Monitor[];
  /** dependents maps an owner's uid to the item keys referencing it (kube's dependency graph). */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(cfg: GarbageCollectorConfig) {
    this.cfg = cfg;
    this.controller = new Controller('garbagecollector', (key) => this.sync(key));
    const inf = cfg.informers;
    const m = (ref: ResourceRef, kind: string, informer: unknown): Monitor => ({ ref, apiGroup: ref.group, kind, informer: informer as Informer<KubeObject> });
    this.monitors = [
      m(resources.deployments, 'Deployment', inf.deployments),
      m(resources.replicasets, 'ReplicaSet', inf.replicaSets),
      m(resources.pods, 'Pod', inf.pods),
      m(resources.services, 'Service', inf.services),
      m(resources.endpoints, 'Endpoints', inf.endpoints),
      m(resources.endpointslices, 'EndpointSlice', inf.endpointSlices),
      m(resources.nodes, 'Node', inf.nodes),
      // Without these, `kubectl delete statefulset web` left its pods running (owners of unwatched kinds count as present).
      m(resources.jobs, 'Job', cfg.workloads.jobs),
      m(resources.cronjobs, 'CronJob', cfg.workloads.cronJobs),
      m(resources.daemonsets, 'DaemonSet', cfg.workloads.daemonSets),
      m(resources.statefulsets, 'StatefulSet', cfg.workloads.statefulSets),
    ];
    this.monitors.forEach((mon, i) => {
      mon.informer.addHandlers({ onAdd: (o) => this.observe(i, undefined, o), onUpdate: (old, cur) => this.observe(i, old, cur), onDelete: (o) => this.observe(i, o, undefined) });
    });
  }

  run(): void {
    this.controller.run(this.cfg.workers);
  }

  /**
   * observe keeps the dependency graph and queues only what may need the
   * collector, as kube's graph builder: an object new or with changed owner
   * references, one being deleted (and its dependents), and the owners a
   * deleted or released dependent may have held up. Status-only updates,
   * the bulk of the traffic, queue nothing.
   */
  private observe(monitor: number, old: Item | undefined, cur: Item | undefined): void {
    const obj = (cur ?? old)!;
    const key = `${monitor}|${objectKey(obj)}`;
    const refsBefore = JSON.stringify(old?.metadata?.ownerReferences ?? []);
    const refsNow = JSON.stringify(cur?.metadata?.ownerReferences ?? []);
    for (const r of old?.metadata?.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(key);
    for (const r of cur?.metadata?.ownerReferences ?? []) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(key);
    }
    const gone = cur === undefined;
    const marked = cur?.metadata?.deletionTimestamp !== undefined;
    const deleting = marked && (old?.metadata?.deletionTimestamp === undefined || JSON.stringify(cur?.metadata?.finalizers ?? []) !== JSON.stringify(old?.metadata?.finalizers ?? []));
    const refsChanged = refsBefore !== refsNow;
    if (!gone && (old === undefined || refsChanged || deleting)) this.controller.enqueue(key);
    if (gone || deleting) for (const dep of this.dependents.get(uidOf(obj)) ?? []) this.controller.enqueue(dep);
    if (gone) this.dependents.delete(uidOf(obj));
    if (gone || deleting || refsChanged) {
      // A foreground owner is released when its last blocking dependent goes.
      for (const r of [...(old?.metadata?.ownerReferences ?? []), ...(cur?.metadata?.ownerReferences ?? [])]) {
        const at = this.monitorFor(r);
        if (at !== undefined) this.controller.enqueue(`${at}|${this.ownerKey(this.monitors[at]!, r, obj)}`);
      }
    }
  }

  private monitorFor(r: OwnerReference): number | undefined {
    const i = this.monitors.findIndex((mon) => mon.kind === r.kind && mon.apiGroup === groupOf(r.apiVersion));
    return i < 0 ? undefined : i;
  }

  private ownerKey(mon: Monitor, r: OwnerReference, dependent: Item): string {
    return mon.ref.namespaced ? `${dependent.metadata?.namespace}/${r.name}` : r.name;
  }

  private lookup(key: string): { mon: Monitor; obj: Item | undefined } {
    const bar = key.indexOf('|');
    const mon = this.monitors[Number(key.slice(0, bar))]!;
    return { mon, obj: mon.informer.store.get(key.slice(bar + 1)) as Item | undefined };
  }

  private dependentsOf(obj: Item): Array<{ mon: Monitor; obj: Item }> {
    const out: Array<{ mon: Monitor; obj: Item }> = [];
    for (const key of this.dependents.get(uidOf(obj)) ?? []) {
      const found = this.lookup(key);
      if (found.obj) out.push({ mon: found.mon, obj: found.obj });
    }
    return out;
  }

  async sync(key: string): Promise<Requeue | void> {
    const { mon, obj } = this.lookup(key);
    if (!obj) return;
    const deleting = deletingWith(obj);
    if (deleting === FINALIZER_ORPHAN) return this.orphanDependents(mon, obj);
    if (deleting === FINALIZER_FOREGROUND) return this.deleteDependentsFirst(mon, obj);
    if (obj.metadata?.deletionTimestamp || (obj.metadata?.ownerReferences ?? []).length === 0) return;
    const states = new Map<string, OwnerState>();
    for (const r of obj.metadata?.ownerReferences ?? []) states.set(r.uid, await this.ownerState(r, obj));
    const action = planItem(obj, states, this.dependentsOf(obj).length > 0);
    if (action.kind === 'dropRefs') {
      await this.patchMeta(mon, obj, { ownerReferences: action.ownerReferences });
      log.info(2, 'Removed references to absent owners', { object: key });
    } else if (action.kind === 'delete') {
      await this.remove(mon, obj, action.policy);
      log.info(2, 'Deleted object whose owners are gone', { object: key, propagationPolicy: action.policy });
    }
  }

  /** ownerState reads the owner from the cache, and confirms an absent one with a live read as kube does. */
  private async ownerState(r: OwnerReference, dependent: Item): Promise<OwnerState> {
    const at = this.monitorFor(r);
    if (at === undefined) return 'present';
    const mon = this.monitors[at]!;
    const cached = mon.informer.store.get(this.ownerKey(mon, r, dependent)) as Item | undefined;
    if (cached?.metadata?.uid === r.uid) return ownerStateOf(cached, r.uid);
    try {
      const live = await this.cfg.client.get<Item>(mon.ref, r.name, mon.ref.namespaced ? { namespace: dependent.metadata?.namespace ?? '' } : {});
      return ownerStateOf(live, r.uid);
    } catch (error) {
      if (isNotFound(error)) return 'absent';
      throw error;
    }
  }

  /** orphanDependents removes the owner's reference from each dependent, then the orphan finalizer. */
  private async orphanDependents(mon: Monitor, owner: Item): Promise<void> {
    for (const d of this.dependentsOf(owner)) {
      await this.patchMeta(d.mon, d.obj, { ownerReferences: withoutOwner(d.obj, uidOf(owner)) });
    }
    await this.dropFinalizer(mon, owner, FINALIZER_ORPHAN);
    log.info(2, 'Orphaned dependents', { owner: objectKey(owner), kind: mon.kind });
  }

  /** deleteDependentsFirst deletes the dependents, and removes foregroundDeletion once none blocks the owner. */
  private async deleteDependentsFirst(mon: Monitor, owner: Item): Promise<Requeue | void> {
    const deps = this.dependentsOf(owner);
    for (const d of deps) {
      if (d.obj.metadata?.deletionTimestamp) continue;
      await this.remove(d.mon, d.obj, this.dependentsOf(d.obj).length > 0 ? 'Foreground' : 'Background');
    }
    if (deps.some((d) => blocksOwner(d.obj, uidOf(owner)))) return { requeueAfterMs: 1000 };
    await this.dropFinalizer(mon, owner, FINALIZER_FOREGROUND);
    log.info(2, 'Deleted dependents in the foreground', { owner: objectKey(owner), kind: mon.kind });
  }

  private async remove(mon: Monitor, obj: Item, policy: DeletePolicy): Promise<void> {
    const at = mon.ref.namespaced ? { namespace: obj.metadata?.namespace ?? '' } : {};
    try {
      await this.cfg.client.delete(mon.ref, obj.metadata?.name ?? '', at, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: policy, preconditions: { uid: uidOf(obj) } });
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  private async dropFinalizer(mon: Monitor, obj: Item, finalizer: string): Promise<void> {
    const rest = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
    await this.patchMeta(mon, obj, { finalizers: rest.length > 0 ? rest : null });
  }

  /** patchMeta merge-patches metadata at the cached resourceVersion: a conflict means the cache was behind, and the key is retried. */
  private async patchMeta(mon: Monitor, obj: Item, meta: Record<string, unknown>): Promise<void> {
    const at = mon.ref.namespaced ? { namespace: obj.metadata?.namespace ?? '' } : {};
    try {
      await this.cfg.client.patch(mon.ref, obj.metadata?.name ?? '', { metadata: { ...meta, resourceVersion: obj.metadata?.resourceVersion } }, 'merge', at);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
