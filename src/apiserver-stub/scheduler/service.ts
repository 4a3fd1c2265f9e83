import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { ApiError, isConflict, isNotFound } from '../../client/errors.ts';
import { resources } from '../../client/resources.ts';
import { involvedOf } from '../../client/event-recorder.ts';
import { EventsV1Recorder } from '../../client/events-v1-recorder.ts';
import { Informer } from '../../client/informer.ts';
import { objectKey } from '../../client/store.ts';
import { getErrorMessage } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { SchedulerCache } from './node-info.ts';
import { Scheduler } from './schedule-one.ts';
import { SchedulingQueue } from './scheduling-queue.ts';

const log = createLogger('scheduler');

export interface SchedulerServiceOptions {
  client: ApiClient;
  /** 0 = adaptive, as kube-scheduler's percentageOfNodesToScore. */
  percentageOfNodesToScore: number;
  schedulerName: string;
  /** Bindings in flight at once (binding cycles run concurrently, scheduling cycles one at a time). */
  parallelBinds?: number;
  /** Unschedulable pods are retried at least this often even without a cluster event (kube: 5 min). */
  unschedulableFlushMs?: number;
}

const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const uidOf = (p: Pod) => p.metadata?.uid ?? objectKey(p);

/**
 * SchedulerService is `ferry scheduler`: informers on pods and nodes feed the
 * cache and the queue; one loop runs scheduling cycles and hands bindings
 * (`pods/binding`) off to run concurrently; a pod that fits nowhere gets
 * PodScheduled=False with kube's message and waits for the cluster to change.
 */
export class SchedulerService {
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  readonly cache = new SchedulerCache();
  readonly queue = new SchedulingQueue();
  /** Pods bound since start, for benchmarks and logs. */
  bound = 0;
  private readonly o: SchedulerServiceOptions;
  private readonly scheduler: Scheduler;
  private readonly assumed = new Set<string>();
  private inFlight = 0;
  private slot: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  /** kube-scheduler writes events.k8s.io/v1 Events (series on repeats), reporting as `<name>` from `<name>-<host>`. */
  readonly recorder: EventsV1Recorder;

  constructor(o: SchedulerServiceOptions) {
    this.o = o;
    this.recorder = new EventsV1Recorder(o.client, { controller: o.schedulerName, instance: `${o.schedulerName}-${hostname()}` });
    this.scheduler = new Scheduler({ percentageOfNodesToScore: o.percentageOfNodesToScore });
    this.pods = new Informer<Pod>({ client: o.client, resource: resources.pods });
    this.nodes = new Informer<Node>({ client: o.client, resource: resources.nodes });
    this.nodes.addHandlers({
      onAdd: (n) => this.nodeChanged(n),
      onUpdate: (_o, n) => this.nodeChanged(n),
      onDelete: (n) => {
        this.cache.removeNode(n.metadata?.name ?? '');
        this.queue.moveAllToActive();
      },
    });
    this.pods.addHandlers({ onAdd: (p) => this.podSeen(p), onUpdate: (_o, p) => this.podSeen(p), onDelete: (p) => this.podGone(p) });
  }

  private nodeChanged(n: Node): void {
    this.cache.upsertNode(n);
    this.queue.moveAllToActive();
  }

  private podSeen(p: Pod): void {
    const key = objectKey(p);
    const nodeName = p.spec?.nodeName;
    if (nodeName) {
      this.queue.forget(key);
      this.assumed.delete(uidOf(p));
      if (isTerminal(p) || p.metadata?.deletionTimestamp) this.releasePod(p);
      else this.cache.addPod(p, nodeName);
      return;
    }
    if ((p.spec?.schedulerName ?? 'default-scheduler') !== this.o.schedulerName || p.metadata?.deletionTimestamp) return;
    if (this.assumed.has(uidOf(p))) return;
    // Our own PodScheduled=False write comes back as an update; only a cluster change retries the pod.
    if (this.queue.isUnschedulable(key)) return;
    this.queue.add(key);
  }

  private podGone(p: Pod): void {
    this.queue.forget(objectKey(p));
    this.assumed.delete(uidOf(p));
    this.releasePod(p);
  }

  private releasePod(p: Pod): void {
    if (!this.cache.hasPod(uidOf(p))) return;
    this.cache.removePod(uidOf(p));
    this.queue.moveAllToActive();
  }

  async start(): Promise<void> {
    this.nodes.start();
    this.pods.start();
    await Promise.all([this.nodes.synced, this.pods.synced]);
    this.flushTimer = setInterval(() => this.queue.moveAllToActive(), this.o.unschedulableFlushMs ?? 60_000).unref();
    this.loop = this.run();
    log.info(1, 'Scheduler started', { nodes: this.cache.nodes().length });
  }

  private async run(): Promise<void> {
    let sinceYield = 0;
    for (;;) {
      const key = await this.queue.pop();
      if (key === undefined) return;
      this.scheduleOne(key);
      // Scheduling cycles are synchronous; let watch events and binding answers in regularly.
      if (++sinceYield >= 20) {
        sinceYield = 0;
        await yieldToLoop();
      }
      while (this.inFlight >= (this.o.parallelBinds ?? 64)) await new Promise<void>((r) => (this.slot = r));
    }
  }

  private scheduleOne(key: string): void {
    const pod = this.pods.store.get(key);
    if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || this.assumed.has(uidOf(pod))) return;
    const result = this.scheduler.schedule(pod, this.cache.nodes());
    if (!result.ok) {
      this.queue.markUnschedulable(key);
      void this.reportUnschedulable(pod, result.message);
      return;
    }
    this.assumed.add(uidOf(pod));
    this.cache.addPod(pod, result.node);
    this.inFlight++;
    void this.bind(pod, result.node).finally(() => {
      this.inFlight--;
      const s = this.slot;
      this.slot = undefined;
      s?.();
    });
  }

  private async bind(pod: Pod, node: string): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace;
    try {
      await this.o.client.create(resources.pods, { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid: pod.metadata?.uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } } as never, { namespace, name, subresource: 'binding' });
      this.bound++;
      log.info(2, 'Bound pod', { pod: objectKey(pod), node });
      this.recorder.event(involvedOf(pod, 'Pod', 'v1'), 'Normal', 'Scheduled', 'Binding', `Successfully assigned ${namespace}/${name} to ${node}`);
    } catch (error) {
      this.assumed.delete(uidOf(pod));
      this.cache.removePod(uidOf(pod));
      // Gone, or bound by someone else: the informer tells the rest.
      if (isNotFound(error) || isConflict(error)) return;
      log.warn('Binding failed, will retry', { pod: objectKey(pod), node, err: getErrorMessage(error) });
      this.queue.backOff(objectKey(pod));
    }
  }

  private async reportUnschedulable(pod: Pod, message: string): Promise<void> {
    // Every failed attempt is an event (the recorder counts repeats); the condition changes only with the message.
    this.recorder.event(involvedOf(pod, 'Pod', 'v1'), 'Warning', 'FailedScheduling', 'Scheduling', message);
    const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (prev?.status === 'False' && prev.reason === 'Unschedulable' && prev.message === message) return;
    const condition: PodCondition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), condition];
    log.info(2, 'Unable to schedule pod', { pod: objectKey(pod), reason: message });
    try {
      await this.o.client.patch(resources.pods, pod.metadata?.name ?? '', { status: { conditions } }, 'merge', { namespace: pod.metadata?.namespace, subresource: 'status' });
    } catch (error) {
      if (!(error instanceof ApiError && isNotFound(error))) log.warn('Cannot report unschedulable pod', { pod: objectKey(pod), err: getErrorMessage(error) });
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.queue.close();
    await this.loop;
    await this.recorder.flush();
    await Promise.all([this.pods.stop(), this.nodes.stop()]);
  }
}
