import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';

/**
 * The node lifecycle controller's decisions as pure functions
 * (kube-controller-manager `nodelifecycle`): a node whose agent stopped
 * renewing its status goes Ready=Unknown after the grace period, and every
 * node carries the NoSchedule taints of its condition (TaintNodesByCondition),
 * which the scheduler's TaintToleration filter then respects. Eviction
 * (NoExecute) is not done in the lab.
 *
 * Nodes that never posted a heartbeat (plain Node objects, as benchmarks
 * create) are left as they are: nothing would ever renew them.
 */

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const MANAGED = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE]);

const readyCondition = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready');

/** isStale: the node posted heartbeats once, but none for longer than the grace period. */
export function isStale(n: Node, now: number, graceMs: number): boolean {
  const beat = readyCondition(n)?.lastHeartbeatTime;
  if (!beat) return false;
  return now - Date.parse(beat) > graceMs;
}

/** unknownConditions marks every condition Unknown, as kube does when the kubelet stops posting. */
export function unknownConditions(n: Node, now: Date): NodeCondition[] {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return (n.status?.conditions ?? []).map((c) => ({
    ...c,
    status: 'Unknown',
    reason: 'NodeStatusUnknown',
    message: 'Kubelet stopped posting node status.',
    lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : stamp,
  }));
}

/** desiredTaints keeps the node's other taints and sets the NoSchedule taints its state calls for. */
export function desiredTaints(n: Node): Taint[] {
  const others = (n.spec?.taints ?? []).filter((t) => !(MANAGED.has(t.key) && t.effect === 'NoSchedule'));
  const ready = readyCondition(n)?.status;
  const managed: Taint[] = [];
  if (ready === 'False') managed.push({ key: TAINT_NOT_READY, effect: 'NoSchedule' });
  if (ready === 'Unknown') managed.push({ key: TAINT_UNREACHABLE, effect: 'NoSchedule' });
  if (n.spec?.unschedulable) managed.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return [...others, ...managed];
}

/** taintsEqual compares taint lists by key, value and effect, ignoring order. */
export function taintsEqual(a: readonly Taint[], b: readonly Taint[]): boolean {
  const k = (t: Taint) => `${t.key}=${t.value ?? ''}:${t.effect}`;
  const sa = a.map(k).sort();
  const sb = b.map(k).sort();
  return sa.length === sb.length && sa.every((x, i) => x === sb[i]);
}
