import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { nodeAllocatable, podRequests, type Resources } from './resources.ts';

/**
 * The scheduler's view of the cluster (kube-scheduler `framework.NodeInfo`
 * and the scheduler cache): per node, what its pods already request, which
 * host ports they hold and how many pods of each owner run there. Pods the
 * scheduler has just placed are counted at once ("assumed"), before their
 * binding is visible in the API, so the next decision already sees them.
 */

/** PodEntry is what a placed pod contributes to its node. */
interface PodEntry {
  requests: Resources;
  nonZero: Resources;
  ports: string[];
  owner: string | undefined;
}

/** hostPortKeys lists the pod's host ports as `protocol/ip/port` (ip 0.0.0.0 when unset). */
export function hostPortKeys(pod: Pod): string[] {
  const keys: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.hostPort) keys.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
  }
  return keys;
}

/** ownerKey is the uid of the pod's controller (ReplicaSet, ...), used to spread siblings. */
export function ownerKey(pod: Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
}

export class NodeInfo {
  readonly name: string;
  readonly node: Node;
  readonly allocatable: Resources;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  /** Sum of the placed pods' requests (for fitting). */
  readonly requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  /** Same, counting scoring defaults for containers without requests. */
  readonly nonZeroRequested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly usedPorts = new Map<string, number>();
  readonly ownerCounts = new Map<string, number>();
  readonly pods = new Map<string, PodEntry>();

  constructor(node: Node) {
    this.node = node;
    this.name = node.metadata?.name ?? '';
    this.allocatable = nodeAllocatable(node.status?.allocatable, node.status?.capacity);
    this.labels = node.metadata?.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = node.spec?.unschedulable === true;
  }

  addPod(uid: string, pod: Pod): void {
    if (this.pods.has(uid)) return;
    const e: PodEntry = { requests: podRequests(pod), nonZero: podRequests(pod, true), ports: hostPortKeys(pod), owner: ownerKey(pod) };
    this.pods.set(uid, e);
    this.apply(e, 1);
  }

  removePod(uid: string): void {
    const e = this.pods.get(uid);
    if (!e) return;
    this.pods.delete(uid);
    this.apply(e, -1);
  }

  private apply(e: PodEntry, sign: 1 | -1): void {
    this.requested.milliCPU += sign * e.requests.milliCPU;
    this.requested.memory += sign * e.requests.memory;
    this.requested.pods += sign;
    this.nonZeroRequested.milliCPU += sign * e.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * e.nonZero.memory;
    for (const p of e.ports) bump(this.usedPorts, p, sign);
    if (e.owner) bump(this.ownerCounts, e.owner, sign);
  }

  /** withNode carries the placed pods over to a new version of the Node object. */
  withNode(node: Node): NodeInfo {
    const next = new NodeInfo(node);
    for (const [uid, e] of this.pods) {
      next.pods.set(uid, e);
      next.apply(e, 1);
    }
    return next;
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

/**
 * SchedulerCache holds NodeInfos in a stable order and which node each placed
 * pod is on. Pods bound to a node not yet seen are kept until it appears.
 */
export class SchedulerCache {
  private readonly byName = new Map<string, NodeInfo>();
  private order: NodeInfo[] = [];
  private readonly podNode = new Map<string, string>();
  private readonly waiting = new Map<string, Map<string, Pod>>();
  /** generation grows whenever a node changes or frees room; the scheduler retries unschedulable pods when it moves. */
  generation = 0;

  nodes(): readonly NodeInfo[] {
    return this.order;
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  upsertNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const old = this.byName.get(name);
    const info = old ? old.withNode(node) : new NodeInfo(node);
    this.byName.set(name, info);
    if (old) this.order[this.order.indexOf(old)] = info;
    else this.order.push(info);
    const pending = this.waiting.get(name);
    if (pending) {
      this.waiting.delete(name);
      for (const [uid, pod] of pending) info.addPod(uid, pod);
    }
    this.generation++;
  }

  removeNode(name: string): void {
    const old = this.byName.get(name);
    if (!old) return;
    this.byName.delete(name);
    this.order = this.order.filter((n) => n !== old);
    for (const uid of old.pods.keys()) this.podNode.delete(uid);
    this.generation++;
  }

  /** addPod records a pod placed on `nodeName` (bound, or assumed by the scheduler). */
  addPod(pod: Pod, nodeName: string): void {
    const uid = pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const current = this.podNode.get(uid);
    if (current === nodeName) return;
    if (current !== undefined) this.removePod(uid);
    this.podNode.set(uid, nodeName);
    const info = this.byName.get(nodeName);
    if (info) info.addPod(uid, pod);
    else {
      const m = this.waiting.get(nodeName) ?? new Map<string, Pod>();
      m.set(uid, pod);
      this.waiting.set(nodeName, m);
    }
  }

  removePod(uid: string): void {
    const nodeName = this.podNode.get(uid);
    if (nodeName === undefined) return;
    this.podNode.delete(uid);
    this.byName.get(nodeName)?.removePod(uid);
    this.waiting.get(nodeName)?.delete(uid);
    // A freed node may now fit a pod that did not fit before.
    this.generation++;
  }

  hasPod(uid: string): boolean {
    return this.podNode.has(uid);
  }
}
