import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import type { KubeObject } from '../kube/types.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('node');

export type EventType = 'Normal' | 'Warning';

/** PodEvent is one thing that happened to a pod (or one of its containers, by fieldPath), as kubelet reports it. */
export interface PodEvent {
  type: EventType;
  reason: string;
  message: string;
  /** `spec.containers{name}` or `spec.initContainers{name}`. */
  fieldPath?: string;
}

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * PodEventRecorder writes core/v1 Events for `kubectl describe pod` and
 * `kubectl get events`, source `kubelet` on this node. A repeat of the same
 * event (a crash loop's BackOff) raises the first one's count and
 * lastTimestamp instead of adding another, as kubelet's correlator does.
 * Failures are logged, never thrown: events are best effort.
 */
export class PodEventRecorder {
  private readonly client: ApiClient;
  private readonly nodeName: string;
  /** Event names by pod uid + reason + message + fieldPath, with their count. */
  private readonly seen = new Map<string, { name: Promise<string | undefined>; count: number }>();

  constructor(client: ApiClient, nodeName: string) {
    this.client = client;
    this.nodeName = nodeName;
  }

  record(pod: Pod, e: PodEvent): void {
    const namespace = pod.metadata?.namespace ?? 'default';
    const key = [pod.metadata?.uid, e.reason, e.message, e.fieldPath ?? ''].join('\0');
    const prior = this.seen.get(key);
    if (prior) {
      prior.count++;
      const count = prior.count;
      void prior.name.then((name) => (name ? this.client.patch(resources.events, name, { count, lastTimestamp: stamp() }, 'merge', { namespace }) : undefined))
        .catch((error: unknown) => log.info(4, 'Cannot update event', { err: getErrorMessage(error) }));
      return;
    }
    const now = stamp();
    const event = {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${pod.metadata?.name}.`, namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid, ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}) },
      reason: e.reason, message: e.message, type: e.type, count: 1,
      source: { component: 'kubelet', host: this.nodeName }, reportingComponent: 'kubelet', reportingInstance: this.nodeName, firstTimestamp: now, lastTimestamp: now,
    } as KubeObject;
    const name = this.client.create(resources.events, event, { namespace })
      .then((created) => created.metadata?.name)
      .catch((error: unknown) => {
        log.info(4, 'Cannot record event', { reason: e.reason, err: getErrorMessage(error) });
        return undefined;
      });
    this.seen.set(key, { name, count: 1 });
  }

  /** forget drops what is remembered of a pod's events once it is gone. */
  forget(uid: string): void {
    for (const key of this.seen.keys()) if (key.startsWith(`${uid}\0`)) this.seen.delete(key);
  }
}
