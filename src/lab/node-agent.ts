import type { ConfigMap, Node, Pod, Secret, Service, Taint } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../client/api-client.ts';
import { ApiError, isNotFound } from '../client/errors.ts';
import { resourcePath, resources } from '../client/resources.ts';
import { Informer } from '../client/informer.ts';
import { ConfigMapWatches } from './configmap-watches.ts';
import { objectKey } from '../client/store.ts';
import { canonicalJSON } from '../apiserver-stub/controllers/canonical.ts';
import { Controller, type Requeue } from '../apiserver-stub/controllers/controller.ts';
import { Backoff } from '../util/backoff.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { cidrContains, parseCidr, PodIpam } from './ipam.ts';
import { setupNodeNetwork, syncNodeRoutes, teardownNode } from './node-network.ts';
import { internalIPOf, nodeObject, nodeStatus, type NodeSpecOptions } from './node-object.ts';
import { PodEventRecorder } from './pod-events.ts';
import { PodStreamServer } from './pod-streams.ts';
import { PodWorker, type PodContext } from './pod-worker.ts';

const log = createLogger('node');

/**
 * POD_FINALIZER holds a deleted pod in the API (with its deletionTimestamp)
 * until the agent has run its graceful termination, so endpoints show it
 * `terminating` meanwhile; the compact apiserver deletes pods at once
 * otherwise. The agent removes it when the pod's processes are gone.
 */
export const POD_FINALIZER = 'lab.ferry.dev/pod-termination';

export interface NodeAgentOptions {
  client: ApiClient;
  nodeName: string;
  /** Namespace prefix of the lab this node belongs to. */
  prefix: string;
  /** Node address on the lab switch with prefix length, e.g. `192.168.200.11/24`. */
  nodeAddress: string;
  podCIDR: string;
  clusterDNS: string[];
  clusterDomain: string;
  capacity: NodeSpecOptions['capacity'];
  labels: Record<string, string>;
  taints: Taint[];
  /** Container restart back-off (kubelet: 10 s doubling to 5 min, reset after 10 min of running). */
  backoff: { initialMs: number; maxMs: number; resetMs?: number };
  /** Node status heartbeat (kubelet's --node-status-update-frequency). */
  statusUpdateMs: number;
  /** How long stop() grants each pod at most, whatever its terminationGracePeriodSeconds. */
  stopGraceCapMs: number;
  /** Serve logs, exec, attach and port-forward on a loopback port (default true); when false, the pods' logs are reported to the API (pods/log PUT) instead. */
  streaming?: boolean;
}

const graceMs = (p: Pod) => (p.metadata?.deletionGracePeriodSeconds || p.spec?.terminationGracePeriodSeconds || 30) * 1000;
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/**
 * NodeAgent is `ferry node`, a small kubelet for labs: it builds the node's
 * network namespace, registers and renews its Node, runs the pods bound to
 * it as processes in their own network namespaces, reports their status and
 * logs, keeps host-gw routes to the other nodes' podCIDRs, and removes
 * everything it made when it stops.
 */
export class NodeAgent {
  private readonly o: NodeAgentOptions;
  private readonly spec: NodeSpecOptions;
  private readonly ipam: PodIpam;
  private readonly pods: Informer<Pod>;
  private readonly services: Informer<Service>;
  private readonly nodes: Informer<Node>;
  /** ConfigMaps, for configMap volumes: read when a pod starts, and rewritten in running pods when edited. */
  private readonly configMaps: ConfigMapWatches;
  private readonly controller: Controller;
  private readonly streams: PodStreamServer;
  private readonly events: PodEventRecorder;
  private readonly workers = new Map<string, PodWorker>();
  private readonly terminating = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly reportedLogs = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private nodeNs = '';
  private routesSyncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(o: NodeAgentOptions) {
    this.o = o;
    this.ipam = new PodIpam(o.podCIDR);
    const internalIP = o.nodeAddress.split('/')[0]!;
    this.spec = { name: o.nodeName, internalIP, podCIDR: o.podCIDR, capacity: o.capacity, labels: o.labels, taints: o.taints };
    this.pods = new Informer<Pod>({ client: o.client, resource: resources.pods, fieldSelector: `spec.nodeName=${o.nodeName}` });
    this.services = new Informer<Service>({ client: o.client, resource: resources.services });
    this.nodes = new Informer<Node>({ client: o.client, resource: resources.nodes });
    const configMapChanged = (cm: ConfigMap) => {
      for (const w of this.workers.values()) {
        if (w.pod.metadata?.namespace !== cm.metadata?.namespace) continue;
        void w.refreshConfigMap(cm.metadata?.name ?? '').catch((e: unknown) => log.warn('Cannot update ConfigMap volumes', { pod: w.name, err: getErrorMessage(e) }));
      }
    };
    this.configMaps = new ConfigMapWatches(o.client, configMapChanged);
    this.controller = new Controller('node-pods', (key) => this.syncPod(key));
    this.events = new PodEventRecorder(o.client, o.nodeName);
    this.streams = new PodStreamServer((namespace, name) => this.workers.get(`${namespace}/${name}`));
    const enqueue = (p: Pod) => this.controller.enqueue(objectKey(p));
    this.pods.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const routes = () => this.syncRoutes();
    this.nodes.addHandlers({ onAdd: routes, onUpdate: routes, onDelete: routes });
  }

  get namespace(): string {
    return this.nodeNs;
  }

  async start(): Promise<void> {
    await teardownNode(this.o.prefix, this.o.nodeName, { keepSwitch: true });
    this.nodeNs = await setupNodeNetwork({ prefix: this.o.prefix, nodeName: this.o.nodeName, nodeAddress: this.o.nodeAddress }, this.ipam);
    if (this.o.streaming !== false) this.spec.kubeletPort = await this.streams.listen();
    await this.registerUntilDone();
    this.services.start();
    this.nodes.start();
    this.pods.start();
    await Promise.all([this.services.synced, this.nodes.synced, this.pods.synced]);
    this.controller.run(8);
    this.timers.push(setInterval(() => void this.heartbeat(), this.o.statusUpdateMs));
    this.timers.push(setInterval(() => void this.flushStatus(), 100));
    // With a streaming port the apiserver asks for logs; without one (an ipvs lab's guest) they are pushed.
    if (this.o.streaming === false) this.timers.push(setInterval(() => void this.reportLogs(), 1000));
    log.info(1, 'Node agent started', { node: this.o.nodeName, namespace: this.nodeNs, podCIDR: this.o.podCIDR });
  }

  /**
   * registerUntilDone retries registration while the apiserver cannot be
   * reached or fails (as kubelet does); a request it rejects (4xx) is final.
   */
  private async registerUntilDone(): Promise<void> {
    // Short, unlike the pods' restart back-off: the agent may start before the apiserver answers.
    const backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
    for (;;) {
      try {
        return await this.register();
      } catch (error) {
        if (error instanceof ApiError && error.statusCode >= 400 && error.statusCode < 500 && error.statusCode !== 429) throw error;
        const delayMs = backoff.next();
        log.warn('Cannot register node; retrying', { err: getErrorMessage(error), delayMs });
        await sleep(delayMs);
      }
    }
  }

  /** register creates the Node, or takes over an existing one of the same name. */
  private async register(): Promise<void> {
    const client = this.o.client;
    const want = nodeObject(this.spec, new Date());
    try {
      await client.create(resources.nodes, want);
    } catch (error) {
      if (!(error instanceof ApiError && error.statusCode === 409)) throw error;
      await client.patch(resources.nodes, this.o.nodeName, { metadata: { labels: want.metadata?.labels }, spec: want.spec }, 'merge');
    }
    await client.patch(resources.nodes, this.o.nodeName, { status: want.status }, 'merge', { subresource: 'status' });
  }

  private async heartbeat(ready = true): Promise<void> {
    const current = this.nodes.store.get(this.o.nodeName);
    const status = nodeStatus(this.spec, ready, current?.status?.conditions, new Date());
    try {
      await this.o.client.patch(resources.nodes, this.o.nodeName, { status }, 'merge', { subresource: 'status' });
    } catch (error) {
      if (!isNotFound(error)) log.warn('Cannot renew node status', { err: getErrorMessage(error) });
      else if (ready) await this.register().catch((e: unknown) => log.warn('Cannot register node', { err: getErrorMessage(e) }));
    }
  }

  /** syncRoutes points the other nodes' podCIDRs at their addresses on the lab switch (host-gw). */
  private syncRoutes(): void {
    this.routesSyncing = this.routesSyncing.then(async () => {
      if (this.stopped) return;
      const transit = parseCidr(this.o.nodeAddress.replace(/\.\d+\//, '.0/'));
      const peers = this.nodes.store.list().flatMap((n) => {
        const ip = internalIPOf(n);
        const cidr = n.spec?.podCIDR;
        return n.metadata?.name !== this.o.nodeName && ip && cidr && cidrContains(transit, ip) ? [{ podCIDR: cidr, nodeIP: ip }] : [];
      });
      await syncNodeRoutes(this.nodeNs, peers).catch((e: unknown) => log.warn('Cannot sync routes', { err: getErrorMessage(e) }));
    });
  }

  /** followConfigMaps watches the ConfigMaps of the pods this node runs now. */
  private followConfigMaps(): void {
    this.configMaps.follow([...this.workers.values()].map((w) => w.pod));
  }

  private ctx(): PodContext {
    return {
      prefix: this.o.prefix, nodeName: this.o.nodeName, nodeNs: this.nodeNs, hostIP: this.spec.internalIP, ipam: this.ipam,
      clusterDNS: this.o.clusterDNS, clusterDomain: this.o.clusterDomain, backoff: this.o.backoff,
      services: () => this.services.store.list(),
      event: (pod, e) => this.events.record(pod, e),
      token: (pod, expirationSeconds, audience) => this.serviceAccountToken(pod, expirationSeconds, audience),
      // The informer's copy; one just created may not have arrived yet, so ask the apiserver then.
      configMap: async (namespace, name) => this.configMaps.get(namespace, name) ?? orUndefined(this.o.client.get<ConfigMap>(resources.configmaps, name, { namespace })),
      secret: (namespace, name) => orUndefined(this.o.client.get<Secret>(resources.secrets, name, { namespace })),
    };
  }

  /** serviceAccountToken asks the TokenRequest API for a token of the pod's ServiceAccount, bound to the pod, as kubelet does. */
  private async serviceAccountToken(pod: Pod, expirationSeconds: number, audience: string | undefined): Promise<string> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const account = pod.spec?.serviceAccountName || 'default';
    const request = {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { expirationSeconds, ...(audience ? { audiences: [audience] } : {}), boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid } },
    };
    const path = resourcePath(resources.serviceaccounts, { namespace, name: account, subresource: 'token' });
    const answer = await this.o.client.request<{ status?: { token?: string } }>('POST', path, request);
    if (!answer.status?.token) throw new Error(`TokenRequest for ${namespace}/${account} returned no token`);
    return answer.status.token;
  }

  private async syncPod(key: string): Promise<Requeue | void> {
    if (this.stopped) return;
    if (this.terminating.has(key)) return;
    const pod = this.pods.store.get(key);
    let worker = this.workers.get(key);
    if (worker && (!pod || pod.metadata?.uid !== worker.uid || pod.metadata?.deletionTimestamp)) {
      this.terminate(key, worker, pod && pod.metadata?.uid === worker.uid ? graceMs(pod) : graceMs(worker.pod));
      return;
    }
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) return this.finishDeletion(pod);
    if (!worker) {
      if (isTerminal(pod)) return;
      await this.addFinalizer(pod);
      worker = new PodWorker(this.ctx(), pod, () => this.dirty.add(key));
      this.workers.set(key, worker);
      this.followConfigMaps();
      log.info(2, 'Starting pod', { pod: key, namespace: worker.ns });
      await worker.start();
    }
    worker.pod = pod;
  }

  /** terminate stops a pod's processes in the background (it may take the whole grace period), then looks at the key again. */
  private terminate(key: string, worker: PodWorker, grace: number): void {
    log.info(2, 'Stopping pod', { pod: key, graceSeconds: grace / 1000 });
    const done = worker.stop(grace).finally(() => {
      this.workers.delete(key);
      this.followConfigMaps();
      this.terminating.delete(key);
      this.reportedLogs.delete(key);
      this.events.forget(worker.uid);
      this.controller.enqueue(key);
    });
    this.terminating.set(key, done);
  }

  private async addFinalizer(pod: Pod): Promise<void> {
    if (pod.metadata?.finalizers?.includes(POD_FINALIZER)) return;
    await this.o.client.patch(resources.pods, pod.metadata?.name ?? '', { metadata: { finalizers: [...(pod.metadata?.finalizers ?? []), POD_FINALIZER] } }, 'merge', { namespace: pod.metadata?.namespace });
  }

  /**
   * finishDeletion ends a deleted pod once its processes are gone, as kubelet
   * does: the apiserver keeps a pod bound to a node until its node deletes it
   * again with grace 0, so drop our finalizer and send that delete (for this
   * uid only: a new pod may already have the name).
   */
  private async finishDeletion(pod: Pod): Promise<void> {
    await this.removeFinalizer(pod);
    try {
      await this.o.client.delete(resources.pods, pod.metadata?.name ?? '', { namespace: pod.metadata?.namespace }, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async removeFinalizer(pod: Pod): Promise<void> {
    if (!pod.metadata?.finalizers?.includes(POD_FINALIZER)) return;
    const finalizers = pod.metadata.finalizers.filter((f) => f !== POD_FINALIZER);
    try {
      await this.o.client.patch(resources.pods, pod.metadata.name ?? '', { metadata: { finalizers, resourceVersion: pod.metadata.resourceVersion } }, 'merge', { namespace: pod.metadata.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** flushStatus reports the status of pods whose state changed, when it differs from what the API holds. */
  private async flushStatus(): Promise<void> {
    const keys = [...this.dirty];
    this.dirty.clear();
    await Promise.all(keys.map(async (key) => {
      const worker = this.workers.get(key);
      const pod = this.pods.store.get(key);
      if (!worker || !pod || pod.metadata?.uid !== worker.uid || this.stopped) return;
      const status = worker.status(new Date());
      const current = Object.fromEntries(Object.keys(status).map((k) => [k, (pod.status as Record<string, unknown> | undefined)?.[k]]));
      if (canonicalJSON(current) === canonicalJSON(status)) return;
      try {
        await this.o.client.patch(resources.pods, pod.metadata?.name ?? '', { status }, 'merge', { namespace: pod.metadata?.namespace, subresource: 'status' });
      } catch (error) {
        if (!isNotFound(error)) {
          log.warn('Cannot report pod status', { pod: key, err: getErrorMessage(error) });
          this.dirty.add(key);
        }
      }
    }));
  }

  /** reportLogs sends each pod's output to the apiserver's pods/log when it grew. */
  private async reportLogs(): Promise<void> {
    for (const [key, worker] of this.workers) {
      const version = worker.logVersion();
      if (this.reportedLogs.get(key) === version) continue;
      this.reportedLogs.set(key, version);
      const path = resourcePath(resources.pods, { namespace: worker.pod.metadata?.namespace, name: worker.pod.metadata?.name, subresource: 'log' });
      await this.o.client.putText(path, worker.logs()).catch((e: unknown) => {
        this.reportedLogs.delete(key);
        log.info(4, 'Cannot report logs', { pod: key, err: getErrorMessage(e) });
      });
    }
  }

  /**
   * stop ends every pod (SIGTERM, grace capped at stopGraceCapMs, SIGKILL),
   * lets the API delete the pods it held, reports the node NotReady and
   * removes the node's namespaces; idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.controller.stop();
    await this.streams.close();
    await Promise.all([this.pods.stop(), this.services.stop(), this.nodes.stop(), this.configMaps.stop()]);
    await Promise.all([...this.workers.values()].map((w) => w.stop(Math.min(graceMs(w.pod), this.o.stopGraceCapMs))));
    await Promise.all(this.terminating.values());
    await Promise.all([...this.workers.values()].map((w) => this.removeFinalizer(w.pod).catch(() => undefined)));
    await this.heartbeat(false).catch(() => undefined);
    await this.routesSyncing;
    await teardownNode(this.o.prefix, this.o.nodeName);
    log.info(1, 'Node agent stopped', { node: this.o.nodeName });
  }
}

/** orUndefined is a read whose 404 means "not there (yet)". */
function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  return read.catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
}
